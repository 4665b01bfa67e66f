#!/usr/bin/env bash
# Whole-process benchmark of system containers, printed as Markdown for benches/RESULTS.md:
# deploy latency (CLI call until every container runs) of services of 1 and 10 busybox system
# containers, side by side with starting the same `systemd-nspawn` command lines with
# `systemd-run --user` (the floor).
#
# Usage: benches/system-containers.sh [RUNS]   (RUNS per size, default 5; the median is reported)
# Builds the release binary, makes a busybox root from Debian's busybox-static, starts a session
# D-Bus and a user manager if none answers, and runs its own agent on a temporary store; stops
# and removes everything it started when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

runs="${1:-5}"
sizes=(1 10)
work="$(mktemp -d /tmp/khutulun-bench-nspawn.XXXXXX)"
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

ensure_packages systemd dbus dbus-user-session procps systemd-container busybox-static
start_user_manager

khutulun="$(release_binary)"

root="$work/root"
mkdir -p "$root/bin" "$root/usr" "$root/etc"
cp "$(command -v busybox)" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
ln -s busybox "$root/bin/sleep"
echo ID=busybox >"$root/etc/os-release"

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Starts N ephemeral containers running `sleep infinity` with systemd-run --user, one call
# each, the same command line the nspawn delegate uses; prints milliseconds.
floor_once() {
    local n="$1" run="$2" i start end
    start="$(now_ms)"
    for ((i = 0; i < n; i++)); do
        systemd-run --user --quiet --collect --unit="khutulun-floor-$run-$i" \
            /usr/bin/systemd-nspawn --quiet --register=no --keep-unit --link-journal=no \
            --machine="floor-$run-$i" --directory="$root" --volatile=overlay \
            --as-pid2 -- sleep infinity
    done
    end="$(now_ms)"
    systemctl --user stop "khutulun-floor-$run-*" >/dev/null
    echo $((end - start))
}

service_of() {
    local n="$1" i
    printf 'tosca_definitions_version: tosca_2_0\nimports:\n  - profile: khutulun\nservice_template:\n  node_templates:\n'
    for ((i = 0; i < n; i++)); do
        printf '    box%d:\n      type: SystemContainer\n      properties:\n        image: { directory: %s }\n        ephemeral: true\n        command: [ sleep, infinity ]\n' "$i" "$root"
    done
}

export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
"$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
agent_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1 || {
    say "the agent did not answer; its log:"
    cat "$work/agent.log" >&2
    exit 1
}

khutulun_once() {
    local n="$1" run="$2" start end
    service_of "$n" >"$work/service-$n.yaml"
    start="$(now_ms)"
    "$khutulun" service deploy "$work/service-$n.yaml" --name "boxes-$n-$run" >/dev/null
    end="$(now_ms)"
    "$khutulun" service delete "boxes-$n-$run" >/dev/null 2>&1
    echo $((end - start))
}

echo "| system containers | systemd-run --user systemd-nspawn (floor) | khutulun service deploy | ratio |"
echo "|-------------------|-------------------------------------------|-------------------------|-------|"
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
echo
echo "Runs per size: $runs (medians). Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
