#!/usr/bin/env bash
# Whole-process benchmark of the firewalld delegate (issue 14), printed as Markdown for
# benches/RESULTS.md: opening and closing one ingress port, by the delegate (benches/firewalld.rs:
# the real actor, its Open and Close messages) beside the floor, `firewall-cmd --add-port` then
# `--remove-port` of the same port (timed with hyperfine, one process each).
#
# Usage: benches/firewalld.sh [PORTS]   (default 200; the permanent row uses a quarter)
# Firewalld runs isolated, as in tests/delegates_firewalld.rs: in a network namespace of its own,
# on a D-Bus bus of its own, with its permanent configuration in a scratch directory. Needs root,
# iproute2, dbus, firewalld and hyperfine. Removes everything it made when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

ports="${1:-200}"
work="$(mktemp -d /tmp/khutulun-bench-firewalld.XXXXXX)"
namespace="khfwbench$$"
pids=()

cleanup() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[$i]}" 2>/dev/null || true
        wait "${pids[$i]}" 2>/dev/null || true
    done
    ip netns del "$namespace" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/bus"
cat >"$work/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_type="method_call"/><allow send_type="signal"/>
    <allow send_type="method_return"/><allow send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="signal"/>
    <allow receive_type="method_return"/><allow receive_type="error"/>
  </policy>
</busconfig>
CONF
mkdir -p "$work/etc"
ip netns add "$namespace"
in_namespace() {
    ip netns exec "$namespace" "$@"
}
# Started as direct children (`ip netns exec` becomes the program), so their pids stop them.
ip netns exec "$namespace" dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile \
    >/dev/null 2>"$work/bus.log" &
pids+=("$!")
wait_until 10 test -S "$work/bus"
ip netns exec "$namespace" firewalld --nofork --nopid --log-target console \
    --system-config "$work/etc" >/dev/null 2>"$work/firewalld.log" &
pids+=("$!")
wait_until 60 in_namespace firewall-cmd --state >/dev/null 2>&1 || {
    say "firewalld did not come up; its log:"
    cat "$work/firewalld.log" >&2
    exit 1
}

say "building the bench"
cargo bench --bench firewalld --no-run --quiet
say "the floor: firewall-cmd --add-port, then --remove-port"
hyperfine --runs 20 --warmup 2 --style none --export-markdown "$work/floor.md" \
    "ip netns exec $namespace firewall-cmd --add-port=24999/tcp && ip netns exec $namespace firewall-cmd --remove-port=24999/tcp" \
    >/dev/null
say "the delegate: its Open and Close messages"
KHUTULUN_FIREWALLD_BUS="$DBUS_SYSTEM_BUS_ADDRESS" cargo bench --quiet --bench firewalld -- "$ports"
echo
echo "Floor (two firewall-cmd processes per port, hyperfine, 20 runs):"
echo
cat "$work/floor.md"
