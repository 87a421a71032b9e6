#!/usr/bin/env bash
# Runs every test: installs prerequisites, builds and installs pgactive, then runs the unit tests
# and the integration tests, which start their own PostgreSQL 15 clusters on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-prereqs.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
make all
$SUDO make install
make check
