#!/usr/bin/env bash
# Whole-process benchmark of the load balancer (issue 14), printed as Markdown for
# benches/RESULTS.md: three python3 web servers behind a LoadBalancer (HAProxy), a bounded
# load generator on 127.0.0.1 (CLIENTS connections at a time, each request on a new
# connection, for SECONDS), and one backend killed with SIGKILL a third of the way in (its
# restart policy is "no", so it stays dead). Reported per run: requests, failed requests (all,
# and after the check threshold elapsed: the bar is none), how long after the kill HAProxy
# marked the backend down (from its log) beside the threshold it was configured with
# (check_failures × check_interval, the floor: no checker can tell sooner), and the latency.
#
# Usage: benches/load-balancer.sh [RUNS]   (default 3)
# Settings: SECONDS_PER_RUN (default 9), CLIENTS (default 4), CHECK_INTERVAL_MS (default 500),
# CHECK_FAILURES (default 2), KHUTULUN_BIN (default: build this tree's release binary).
# Needs haproxy and python3. Runs its own agent on a temporary store and removes everything
# it made when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

runs="${1:-3}"
seconds="${SECONDS_PER_RUN:-9}"
clients="${CLIENTS:-4}"
interval="${CHECK_INTERVAL_MS:-500}"
failures="${CHECK_FAILURES:-2}"
work="$(mktemp -d /tmp/khutulun-bench-lb.XXXXXX)"
agent_pid=""

cleanup() {
    if [ -n "$agent_pid" ]; then
        "$khutulun" service delete bench-lb >/dev/null 2>&1 || true
        kill "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

khutulun="$(release_binary)"

# The example, with backends that stay dead and the bench's check settings.
sed -e 's|        command: /bin/sh|        restart: "no"\n        command: /bin/sh|' \
    -e "s|check_interval: 500 ms|check_interval: $interval ms\n        check_failures: $failures|" \
    examples/hello-load-balancer.yaml >"$work/service.yaml"

export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
"$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
agent_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1 || {
    say "the agent did not answer; its log:"
    cat "$work/agent.log" >&2
    exit 1
}

echo "| run | requests | failed | failed after the threshold | marked down after the kill | threshold (floor) | ratio | latency p50 / p99 |"
echo "|-----|----------|--------|----------------------------|----------------------------|-------------------|-------|-------------------|"
for ((run = 1; run <= runs; run++)); do
    "$khutulun" service deploy "$work/service.yaml" --name bench-lb >/dev/null
    "$khutulun" service status bench-lb --format json >"$work/status.json"
    python3 "$repo/benches/support/lb_load.py" "$work/status.json" "$seconds" "$clients" \
        "$interval" "$failures" "$run"
    "$khutulun" service delete bench-lb >/dev/null
done
