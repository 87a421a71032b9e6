#!/bin/bash
# Apply capacity of two builds of pgactive, measured in one session, rounds alternating (old,
# new, then new, old, ...) so that the machine's drift weighs on both alike: for questions like
# "did this change cost (b) and (c) more than 5%?" (issue 21 item 5). Each round installs one
# build (make install: library, SQL script, worker jar) and runs bench/ for pgactive only.
#
#   [NEW=<commit>] bench/scripts/compare-builds.sh <old commit> [rounds] [workloads] [bench options...]
#
# The old commit is built in a git worktree under /tmp; the new build is this checkout as it
# is, or NEW's, built likewise. The bench jar is this checkout's for both. Leaves this
# checkout's build installed.
set -euo pipefail
old_commit=$1
rounds=${2:-3}
workloads=${3:-bc}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${COMPARE_OUT:-$here/bench/results/compare-$(date +%Y%m%d-%H%M%S)}

worktree() { # <commit>: its build tree under /tmp
    local tree=/tmp/pgactive-build-$(git -C "$here" rev-parse --short "$1")
    [ -d "$tree" ] || git -C "$here" worktree add --detach "$tree" "$1" >/dev/null
    echo "$tree"
}
old_tree=$(worktree "$old_commit")
new_tree=${NEW:+$(worktree "$NEW")}
new_tree=${new_tree:-$here}
make -C "$old_tree" all >/dev/null
make -C "$new_tree" all >/dev/null
[ "$new_tree" = "$here" ] || make -C "$here" all >/dev/null
(cd "$here" && mvn -B -q -o -pl bench -am package -DskipTests)
mkdir -p "$out"

run() { # <label> <tree> <round> [bench options...]
    local label=$1 tree=$2 round=$3
    shift 3
    make -C "$tree" install >/dev/null
    echo "== round $round: $label ($(git -C "$tree" rev-parse --short HEAD))"
    java -jar "$here/bench/target/pgactive-bench.jar" --only pgactive --rounds 1 --workloads "$workloads" \
        "$@" --out "$out/$label-$round" > "$out/$label-$round.log" 2>&1
    python3 -c 'import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["metric"] == "apply rate" and row["pgactive"]:
        print("  ", sys.argv[2], row["workload"], row["pgactive"], row["unit"])' "$out/$label-$round"/*.csv "$label"
}
for ((r = 1; r <= rounds; r++)); do
    if (( r % 2 )); then
        run old "$old_tree" "$r" "$@"; run new "$new_tree" "$r" "$@"
    else
        run new "$new_tree" "$r" "$@"; run old "$old_tree" "$r" "$@"
    fi
done
make -C "$here" install >/dev/null
echo "results: $out/{old,new}-<round>/"
