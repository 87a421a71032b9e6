#!/usr/bin/env bash
# Installs what building, installing and testing pgactive needs on Debian 12: PostgreSQL 15
# (server and headers), a JDK 17, Maven and a C toolchain. Safe to run again.
set -euo pipefail

packages=(postgresql-15 postgresql-server-dev-15 postgresql-client-15 openjdk-17-jdk-headless maven gcc make)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
