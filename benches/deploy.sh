#!/usr/bin/env bash
# Whole-process benchmarks of the agent (issue 3), printed as Markdown for benches/RESULTS.md:
#
#   - deploy latency (CLI call until every instance runs) of services of 1, 10 and 100 bare
#     processes, side by side with starting the same processes with `systemd-run --user`
#     (the floor);
#   - the agent's resident memory when idle and with 100 instances;
#   - the stripped release binary's size.
#
# Usage: benches/deploy.sh [RUNS]   (RUNS per size, default 5; the median is reported)
# Builds the release binary, starts a session D-Bus and a user manager if none answers, and runs
# its own agent on a temporary store; stops and removes everything it started when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

runs="${1:-5}"
sizes=(1 10 100)
work="$(mktemp -d /tmp/khutulun-bench.XXXXXX)"
agent_pid=""

cleanup() {
    systemctl --user stop 'khutulun-floor-*' >/dev/null 2>&1 || true
    if [ -n "$agent_pid" ]; then
        kill "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    stop_user_manager
    rm -rf "$work"
}
trap cleanup EXIT

ensure_packages systemd dbus dbus-user-session procps
start_user_manager

say "building the release binary"
cargo build --quiet --release --bin khutulun
target_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
khutulun="$target_dir/release/khutulun"

# Milliseconds since the epoch.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# The median of the numbers on stdin.
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Starts N `sleep infinity` units with systemd-run --user, one call each; prints milliseconds.
floor_once() {
    local n="$1" run="$2" i start end
    start="$(now_ms)"
    for ((i = 0; i < n; i++)); do
        systemd-run --user --quiet --collect --unit="khutulun-floor-$run-$i" /bin/sleep infinity
    done
    end="$(now_ms)"
    systemctl --user stop "khutulun-floor-$run-*" >/dev/null
    echo $((end - start))
}

# A service template of N bare processes.
service_of() {
    local n="$1" i
    printf 'tosca_definitions_version: tosca_2_0\nimports:\n  - profile: khutulun\nservice_template:\n  node_templates:\n'
    for ((i = 0; i < n; i++)); do
        printf '    sleeper%d:\n      type: Process\n      properties:\n        command: /bin/sleep\n        arguments: [ infinity ]\n' "$i"
    done
}

# Resident memory of a process, in MiB.
rss_mib() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
say "starting an agent on $KHUTULUN_STATE"
"$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
agent_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1 || {
    say "the agent did not answer; its log:"
    cat "$work/agent.log" >&2
    exit 1
}
sleep 2
idle_rss="$(rss_mib "$agent_pid")"

# Deploys a service of N processes and waits for it; prints milliseconds. Deletes it after,
# unless KEEP is set.
khutulun_once() {
    local n="$1" run="$2" keep="${3:-}" start end
    service_of "$n" >"$work/service-$n.yaml"
    start="$(now_ms)"
    "$khutulun" service deploy "$work/service-$n.yaml" --name "bench-$n-$run" >/dev/null
    end="$(now_ms)"
    if [ -z "$keep" ]; then
        "$khutulun" service delete "bench-$n-$run" >/dev/null 2>&1
    fi
    echo $((end - start))
}

echo "| processes | systemd-run --user (floor) | khutulun service deploy | ratio |"
echo "|-----------|----------------------------|-------------------------|-------|"
for n in "${sizes[@]}"; do
    floor_times=()
    khutulun_times=()
    for ((run = 0; run < runs; run++)); do
        floor_times+=("$(floor_once "$n" "$run")")
        khutulun_times+=("$(khutulun_once "$n" "$run")")
    done
    floor="$(printf '%s\n' "${floor_times[@]}" | median)"
    ours="$(printf '%s\n' "${khutulun_times[@]}" | median)"
    ratio="$(awk -v a="$ours" -v b="$floor" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
    echo "| $n | $floor ms | $ours ms | $ratio× |"
done

khutulun_once 100 loaded keep >/dev/null
sleep 2
loaded_rss="$(rss_mib "$agent_pid")"
"$khutulun" service delete bench-100-loaded >/dev/null 2>&1

size_mib="$(awk -v b="$(stat -c %s "$khutulun")" 'BEGIN { printf "%.1f", b / 1048576 }')"
echo
echo "| measure | value |"
echo "|---------|-------|"
echo "| agent resident memory, idle | $idle_rss MiB |"
echo "| agent resident memory, 100 instances | $loaded_rss MiB |"
echo "| stripped release binary | $size_mib MiB |"
echo
echo "Runs per size: $runs (medians). Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
