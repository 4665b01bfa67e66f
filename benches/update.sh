#!/usr/bin/env bash
# Whole-process benchmark of `service update` (issue 12), printed as Markdown for
# benches/RESULTS.md: a service of N sleeping processes plus one, `odd`, whose argument is an
# input; each round updates the input (so only `odd` changes) and, beside it in the same run,
# deploys and deletes a service of that one process alone (the floor: making one instance).
# Reported per round: both times, their ratio (the bar: no more than 1), and whether the N
# other processes kept their pids (the bar: all of them).
#
# Usage: benches/update.sh [ROUNDS]   (default 5)
# Settings: N (default 100), KHUTULUN_BIN (default: build this tree's release binary).
# Runs its own agent on a temporary store (its processes are user units when a user manager
# answers on the session bus the environment names, else the agent supervises them) and
# removes everything it made when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

rounds="${1:-5}"
n="${N:-100}"
work="$(mktemp -d /tmp/khutulun-bench-update.XXXXXX)"
agent_pid=""

cleanup() {
    if [ -n "$agent_pid" ]; then
        "$khutulun" service delete many >/dev/null 2>&1 || true
        "$khutulun" service delete one >/dev/null 2>&1 || true
        kill "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

khutulun="$(release_binary)"

# The service: `odd`, then N sleepers (one node template with N instances).
template() {
    local sleepers="$1"
    cat <<YAML
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  inputs:
    seconds: { type: string, default: "600" }
  node_templates:
    odd:
      type: Process
      properties:
        command: /bin/sleep
        arguments: [ { \$get_input: seconds } ]
YAML
    if [ "$sleepers" -gt 0 ]; then
        cat <<YAML
    sleeper:
      type: Process
      count: $sleepers
      properties:
        command: /bin/sleep
        arguments: [ infinity ]
YAML
    fi
}

# Milliseconds since the epoch.
now_ms() {
    date +%s%3N
}

# The pids of the sleepers of service `many`, sorted, one line.
sleeper_pids() {
    "$khutulun" service status many --format json | python3 -c '
import json, sys
status = json.load(sys.stdin)
print(" ".join(sorted(str(i["attributes"]["pid"]) for i in status["instances"] if i["node"] == "sleeper")))'
}

template "$n" >"$work/many.yaml"
template 0 >"$work/one.yaml"
export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
"$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
agent_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1 || {
    cat "$work/agent.log" >&2
    exit 1
}

start="$(now_ms)"
"$khutulun" service deploy "$work/many.yaml" --name many --input "seconds='600'" >/dev/null
say "deployed $((n + 1)) processes in $(($(now_ms) - start)) ms"
before="$(sleeper_pids)"

echo "| round | update of 1 in $((n + 1)) (ms) | deploy of 1 (ms) | ratio | other $n pids kept |"
echo "|---|---|---|---|---|"
for ((round = 1; round <= rounds; round++)); do
    start="$(now_ms)"
    "$khutulun" service update many "$work/many.yaml" --input "seconds='$((600 + round))'" \
        >/dev/null 2>&1
    update_ms=$(($(now_ms) - start))
    start="$(now_ms)"
    "$khutulun" service deploy "$work/one.yaml" --name one --input "seconds='600'" >/dev/null
    deploy_ms=$(($(now_ms) - start))
    "$khutulun" service delete one >/dev/null
    kept="no"
    [ "$(sleeper_pids)" = "$before" ] && kept="yes"
    ratio="$(awk -v a="$update_ms" -v b="$deploy_ms" 'BEGIN { printf "%.2f", a / b }')"
    echo "| $round | $update_ms | $deploy_ms | $ratio | $kept |"
done
