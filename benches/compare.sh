#!/usr/bin/env bash
# The whole-process benchmark of benches/deploy.sh for two builds side by side (issue 8): the
# release binary of a baseline commit and that of this working tree, measured in turns, printed
# as one Markdown table with the ratios current/baseline.
#
# Usage: benches/compare.sh BASELINE_COMMIT [RUNS]
#
# Each size is measured in RUNS rounds (default 3); a round runs deploy.sh once with each
# binary, the baseline first (one deploy and one delete each), so that both see much the same
# machine load. The store operations are counted once per binary and size, in the first round.
#
# Settings, from the environment:
#   SIZES            the numbers of processes, ascending (default "100 1000")
#   SUPERVISION      `self` (default): the agent supervises the processes itself; `units`:
#                    they run as systemd user units
#   TRACE_SIZES      the sizes whose store operations are counted (default: SIZES; empty: none)
#   BASE_WORKTREE    where the baseline is checked out (default /work/wt-bench-base; made with
#                    `git worktree add` when missing)
#   BASE_TARGET_DIR  the baseline's CARGO_TARGET_DIR (default /work/target-bench-base)
#
# The working tree's binary is built in its usual target directory. Both binaries are copied
# before the runs, so that builds made meanwhile do not change what is measured. The Markdown of
# every deploy.sh run and the raw figures stay in a directory named at the end.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    say "usage: benches/compare.sh BASELINE_COMMIT [RUNS]"
    exit 2
fi
baseline="$(git rev-parse --verify "$1^{commit}")"
runs="${2:-3}"
read -r -a sizes <<<"${SIZES:-100 1000}"
read -r -a trace_sizes <<<"${TRACE_SIZES-${sizes[*]}}"
supervision="${SUPERVISION:-self}"
base_tree="${BASE_WORKTREE:-/work/wt-bench-base}"
base_target="${BASE_TARGET_DIR:-/work/target-bench-base}"
out="$(mktemp -d /tmp/khutulun-compare.XXXXXX)"
builds=(baseline current)

# Runs cargo after the other builds of this machine (one at a time, at a lower priority).
cargo_locked() {
    flock "${KHUTULUN_BUILD_LOCK:-/tmp/khutulun-build.lock}" nice -n 5 cargo "$@"
}

cleanup() {
    stop_user_manager
}
trap cleanup EXIT

# The baseline's binary: its commit checked out in BASE_WORKTREE and built there.
if [ -e "$base_tree" ]; then
    if [ "$(git -C "$base_tree" rev-parse HEAD)" != "$baseline" ]; then
        say "checking out ${baseline:0:7} in $base_tree"
        git -C "$base_tree" checkout --quiet --detach "$baseline"
    fi
else
    say "adding a worktree of ${baseline:0:7} at $base_tree"
    git worktree add --quiet --detach "$base_tree" "$baseline"
fi
say "building the baseline's release binary (${baseline:0:7})"
(
    cd "$base_tree"
    export CARGO_TARGET_DIR="$base_target"
    cargo_locked build --quiet --release --bin khutulun
)
cp "$base_target/release/khutulun" "$out/baseline-khutulun"

say "building the working tree's release binary"
cargo_locked build --quiet --release --bin khutulun
target_dir="$(cargo_locked metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
cp "$target_dir/release/khutulun" "$out/current-khutulun"
current="$(git describe --always --dirty --abbrev=7)"

# One session bus and user manager for every run (deploy.sh reuses what answers).
if [ "$supervision" = units ]; then
    ensure_packages systemd dbus dbus-user-session procps
    start_user_manager
fi

# True when size N is one whose store operations are counted.
traced() {
    local size
    for size in "${trace_sizes[@]}"; do
        if [ "$size" = "$1" ]; then
            return 0
        fi
    done
    return 1
}

for n in "${sizes[@]}"; do
    for ((round = 1; round <= runs; round++)); do
        trace=""
        if [ "$round" -eq 1 ] && traced "$n"; then
            trace="$n"
        fi
        for build in "${builds[@]}"; do
            say "$n processes, round $round of $runs: $build${trace:+ (and its strace pass)}"
            KHUTULUN_BIN="$out/$build-khutulun" SIZES="$n" RUNS=1 TRACE_SIZES="$trace" \
                SUPERVISION="$supervision" FLOOR=0 RESULTS_FILE="$out/$build.results" \
                "$repo/benches/deploy.sh" >>"$out/$build.md" 2>>"$out/$build.log" || {
                say "deploy.sh failed with the $build binary; the end of its log:"
                tail -n 20 "$out/$build.log" >&2
                exit 1
            }
        done
    done
done

# The median of the numbers on stdin; empty when there are none.
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median of MEASURE for size SIZE (`-` for measures of no size) in BUILD's results.
figure() {
    awk -v measure="$2" -v size="$3" '$1 == measure && $2 == size { print $3 }' \
        "$out/$1.results" | median
}

# A / B with two decimals, or `-` when either is not a number or B is zero.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        number = "^[0-9]+(\\.[0-9]*)?$"
        if (a ~ number && b ~ number && b + 0 != 0) printf "%.2f", a / b; else print "-"
    }'
}

# One row of the table: LABEL, then the two builds' medians of MEASURE for SIZE with UNIT, and
# their ratio. Rows whose figures are all zero or missing are left out.
row() {
    local label="$1" measure="$2" size="$3" unit="$4" base now
    base="$(figure baseline "$measure" "$size")"
    now="$(figure current "$measure" "$size")"
    if [ -z "$base$now" ] || awk -v a="$base" -v b="$now" 'BEGIN { exit !(a + 0 == 0 && b + 0 == 0) }'; then
        return 0
    fi
    echo "| $label | ${base:--}${base:+$unit} | ${now:--}${now:+$unit} | $(ratio "$now" "$base") |"
}

# How far MEASURE grows beyond proportion from size A to size B in BUILD's results: the figure
# at B over (B / A) times the figure at A (1 when linear).
growth() {
    local at_a at_b
    at_a="$(figure "$1" "$2" "$3")"
    at_b="$(figure "$1" "$2" "$4")"
    awk -v a="$at_a" -v b="$at_b" -v sa="$3" -v sb="$4" \
        'BEGIN { if (a != "" && b != "" && a + 0 != 0) printf "%.2f", b / (sb / sa * a); else print "-" }'
}

echo "| measure | baseline \`${baseline:0:7}\` | current \`$current\` | current/baseline |"
echo "|---------|----------|---------|------------------|"
for n in "${sizes[@]}"; do
    row "deploy $n processes" deploy_ms "$n" " ms"
    row "delete $n processes" delete_ms "$n" " ms"
done
for ((i = 1; i < ${#sizes[@]}; i++)); do
    a="${sizes[i - 1]}"
    b="${sizes[i]}"
    scale="$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
    for step in deploy delete; do
        base="$(growth baseline "${step}_ms" "$a" "$b")"
        now="$(growth current "${step}_ms" "$a" "$b")"
        echo "| $step linearity: $step($b) / (${scale}× $step($a)) | $base | $now | $(ratio "$now" "$base") |"
    done
done
row "agent resident memory, idle" rss_idle_mib - " MiB"
for n in "${sizes[@]}"; do
    row "agent resident memory, $n instances" rss_mib "$n" " MiB"
done
for n in "${trace_sizes[@]}"; do
    for step in deploy delete; do
        row "store file reads per instance, $step of $n" "${step}_reads" "$n" ""
        row "store file writes per instance, $step of $n" "${step}_writes" "$n" ""
        row "store renames per instance, $step of $n" "${step}_renames" "$n" ""
        row "store removals per instance, $step of $n" "${step}_removals" "$n" ""
        row "store directory and lock opens per instance, $step of $n" "${step}_other_opens" "$n" ""
    done
done
row "stripped release binary" binary_mib - " MiB"
echo
echo "Baseline \`$("$out/baseline-khutulun" --version)\`; current \`$("$out/current-khutulun" --version)\`" \
    "(working tree \`$current\`). Processes supervised by $(
        [ "$supervision" = self ] && echo "the agent itself" || echo "systemd (user units)"
    ). Rounds per size: $runs, each running the baseline then the current binary (medians" \
    "over the rounds); store operations counted in the first round, under strace. Machine:" \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
say "the Markdown of every run and the raw figures are in $out"
