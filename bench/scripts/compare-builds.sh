#!/bin/bash
# Apply capacity of two builds of pgactive, measured in one session, rounds alternating (old,
# new, then new, old, ...) so that the machine's drift weighs on both alike: for questions like
# "did this change cost (b) and (c) more than 5%?" (issue 21 item 5). Each round installs one
# build (make install: library, SQL script, worker jar) and runs bench/ for pgactive only.
#
#   bench/scripts/compare-builds.sh <old commit> [rounds] [workloads] [bench options...]
#
# The old commit is built in a git worktree under /tmp; the new build is this checkout, as it
# is. The bench jar is this checkout's for both. Leaves this checkout's build installed.
set -euo pipefail
old_commit=$1
rounds=${2:-3}
workloads=${3:-bc}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/../.." && pwd)
old_tree=/tmp/pgactive-build-$(git -C "$here" rev-parse --short "$old_commit")
out=${COMPARE_OUT:-$here/bench/results/compare-$(date +%Y%m%d-%H%M%S)}

if [ ! -d "$old_tree" ]; then
    git -C "$here" worktree add --detach "$old_tree" "$old_commit" >/dev/null
fi
make -C "$old_tree" all >/dev/null
make -C "$here" all >/dev/null
(cd "$here" && mvn -B -q -o -pl bench -am package -DskipTests)
mkdir -p "$out"

run() { # <label> <tree> <round> [bench options...]
    local label=$1 tree=$2 round=$3
    shift 3
    make -C "$tree" install >/dev/null
    echo "== round $round: $label ($(git -C "$tree" rev-parse --short HEAD))"
    java -jar "$here/bench/target/pgactive-bench.jar" --only pgactive --rounds 1 --workloads "$workloads" \
        "$@" --out "$out/$label-$round" > "$out/$label-$round.log" 2>&1
    grep -h 'apply rate' "$out/$label-$round"/*.csv | cut -d, -f1,6 | sed "s/^/   $label: /"
}
for ((r = 1; r <= rounds; r++)); do
    if (( r % 2 )); then
        run old "$old_tree" "$r" "$@"; run new "$here" "$r" "$@"
    else
        run new "$here" "$r" "$@"; run old "$old_tree" "$r" "$@"
    fi
done
make -C "$here" install >/dev/null
echo "results: $out/{old,new}-<round>/"
