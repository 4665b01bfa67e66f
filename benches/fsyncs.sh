#!/usr/bin/env bash
# Counts the store's fsyncs and renames (strace -c) around an agent that deploys and deletes a
# service of N+1 sleeping processes it supervises itself: how much durable writing a deploy
# costs, independent of how fast this machine's disk syncs. Prints one Markdown-ready line.
#
# Usage: benches/fsyncs.sh [N]   (default 300)
# Settings: KHUTULUN_BIN (default: build this tree's release binary). Needs strace.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
ensure_packages strace

n="${1:-300}"
khutulun="$(release_binary)"
work="$(mktemp -d /tmp/khutulun-bench-fsyncs.XXXXXX)"
agent_pid=""
cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
cat >"$work/naps.yaml" <<YAML
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    odd:
      type: Process
      properties: { command: /bin/sleep, arguments: [ '600' ] }
    sleeper:
      type: Process
      count: $n
      properties: { command: /bin/sleep, arguments: [ infinity ] }
YAML
# A session bus that does not exist: the agent supervises the processes itself.
DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-session-bus" strace -f -c -e trace=fsync,rename -o "$work/trace" \
    "$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
tracer_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1
agent_pid="$(pgrep -P "$tracer_pid" | head -1)"
start="$(date +%s%3N)"
"$khutulun" service deploy "$work/naps.yaml" --name naps >/dev/null
deployed=$(($(date +%s%3N) - start))
"$khutulun" service delete naps >/dev/null
kill "$agent_pid"
wait "$tracer_pid" || true
agent_pid=""
counts="$(awk '$NF == "fsync" || $NF == "rename" { printf "%s %s ", $NF, $4 }' "$work/trace")"
echo "| $((n + 1)) processes | deploy ${deployed} ms (under strace) | ${counts}|"
