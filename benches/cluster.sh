#!/usr/bin/env bash
# Membership and failover of Khutulun side by side with HashiCorp Serf (Debian's `serf`), in
# the same network namespaces, interleaved round by round (issue 9). Printed as Markdown for
# benches/RESULTS.md:
#
#   - detection: an agent killed with SIGKILL → every survivor sees it down (Serf: `failed`),
#     twice: as a CLI poll of each survivor sees it, and as each survivor logged it (Serf: the
#     time its member-failed event handler ran; Khutulun: its "member down" log line), which
#     leaves out what a poll costs each;
#   - isolation: a member's link cut → it has logged every other member down;
#   - join: the killed agent started again → every other member sees it alive;
#   - traffic: bytes each member sends per second in a quiet cluster of HOSTS members;
#   - failover (Khutulun only): SIGKILL of an agent and of the instance it ran → the instance
#     runs on another host and answers HTTP there.
#
# Both run with their LAN defaults (a probe every second, 500 ms for the ack, suspicion of 4
# probe periods for clusters this small). Serf agents join the first; Khutulun agents share a
# store. Khutulun's failover waits for its lease term (6 s) as well as for SWIM.
#
# Usage: benches/cluster.sh [ROUNDS]        (default 5)
# Settings: HOSTS (default 5), KHUTULUN_BIN (default: this tree's release build).
# Needs root (network namespaces). Everything it starts is stopped and removed at exit.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

rounds="${1:-5}"
hosts="${HOSTS:-5}"
patience=60
ensure_packages serf iproute2 python3 curl
if [ -z "${KHUTULUN_BIN:-}" ]; then
    say "building the release binary"
    flock -o /tmp/khutulun-build.lock cargo build --release --quiet
    KHUTULUN_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/khutulun"
fi
bin="$KHUTULUN_BIN"

work="$(mktemp -d /tmp/khutulun-cluster-bench.XXXXXX)"
tag="kcb$$"
bridge="${tag}b"
declare -a pids=()

ns() { printf '%sn%s' "$tag" "$1"; }
ip_of() { printf '10.79.0.%s' "$1"; }

cleanup() {
    set +e
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    pkill -9 -f "$work" 2>/dev/null
    for h in $(seq 1 "$hosts"); do
        ip netns pids "$(ns "$h")" 2>/dev/null | xargs -r kill -9
        ip netns del "$(ns "$h")" 2>/dev/null
        ip link del "${tag}v$h" 2>/dev/null
    done
    ip link del "$bridge" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

ip link add "$bridge" type bridge
ip addr add 10.79.0.254/24 dev "$bridge"
ip link set "$bridge" up
for h in $(seq 1 "$hosts"); do
    ip netns add "$(ns "$h")"
    ip link add "${tag}v$h" type veth peer name "${tag}p$h"
    ip link set "${tag}p$h" netns "$(ns "$h")"
    ip link set "${tag}v$h" master "$bridge" up
    ip -n "$(ns "$h")" addr add "$(ip_of "$h")/24" dev "${tag}p$h"
    ip -n "$(ns "$h")" link set lo up
    ip -n "$(ns "$h")" link set "${tag}p$h" up
done

now_ms() { date +%s%3N; }

# Bytes the members sent, summed, read from inside their namespaces.
tx_bytes() {
    local sum=0 h
    for h in $(seq 1 "$hosts"); do
        sum=$((sum + $(ip netns exec "$(ns "$h")" cat "/sys/class/net/${tag}p$h/statistics/tx_bytes")))
    done
    echo "$sum"
}

# Bytes per member per second over 10 s of quiet.
traffic() {
    local before after
    before="$(tx_bytes)"
    sleep 10
    after="$(tx_bytes)"
    echo $(((after - before) / hosts / 10))
}

# ---- Serf ----------------------------------------------------------------------------------

serf_start() {
    local h="$1" join=()
    [ "$h" -ne 1 ] && join=(-join="$(ip_of 1)")
    ip netns exec "$(ns "$h")" serf agent -node="h$h" -bind="$(ip_of "$h"):7946" \
        -rpc-addr=127.0.0.1:7373 -log-level=err "${join[@]}" \
        -event-handler "member-failed=while read -r m _; do echo \"\$(date +%s%3N) \$m\"; done >>$work/serf-failed-$h" \
        >>"$work/serf-$h.log" 2>&1 &
    serf_pid[$h]=$!
    pids+=("$!")
    disown
}

# How observer `o` sees member `m`: alive, failed, left… (empty when unknown).
serf_sees() {
    ip netns exec "$(ns "$1")" serf members -rpc-addr=127.0.0.1:7373 2>/dev/null |
        awk -v m="h$2" '$1 == m { print $3 }'
}

# The times (ms since the epoch) at which observer $1 handled a member-failed event of $2.
serf_failed_times() {
    awk -v m="h$2" '$2 == m { print $1 }' "$work/serf-failed-$1" 2>/dev/null || true
}

# ---- Khutulun ------------------------------------------------------------------------------

kh() {
    local h="$1"
    shift
    KHUTULUN_RUNTIME="$work/runtime-$h" "$bin" "$@"
}

kh_start() {
    local h="$1"
    ip netns exec "$(ns "$h")" env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
        KHUTULUN_LOG=warn "$bin" agent --name "h$h" --listen "$(ip_of "$h")" \
        --state "$work/state" --runtime "$work/runtime-$h" >>"$work/khutulun-$h.log" 2>&1 &
    kh_pid[$h]=$!
    pids+=("$!")
    disown
}

# Read from the table with awk, as Serf's is: a JSON parser would add ~70 ms to every poll.
kh_sees() {
    kh "$1" host list 2>/dev/null | awk -v m="h$2" '$1 == m { print $3 }'
}

# The times (ms since the epoch) at which agent $1 logged member $2 down.
kh_down_times() {
    sed 's/\x1b\[[0-9;]*m//g' "$work/khutulun-$1.log" 2>/dev/null | grep "member down" |
        grep "h$2@" | while read -r stamp _; do date -d "$stamp" +%s%3N; done
}

# ---- Shared --------------------------------------------------------------------------------

declare -a serf_pid=() kh_pid=()

# Waits until every observer in OBSERVERS sees member $2 in state $3 via $1 (serf_sees or
# kh_sees); prints the milliseconds since $4.
time_until_seen() {
    local sees="$1" member="$2" state="$3" since="$4" o
    local deadline=$((SECONDS + patience))
    for o in "${observers[@]}"; do
        until [ "$("$sees" "$o" "$member")" = "$state" ]; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                say "h$o never saw h$member $state"
                echo "-"
                return
            fi
            sleep 0.05
        done
    done
    echo $(($(now_ms) - since))
}

# Waits until observer $2 logged member $3's failure at or after $4, via $1 (serf_failed_times
# or kh_down_times); prints that time (ms since the epoch), or nothing after the patience.
first_logged() {
    local times="$1" o="$2" member="$3" since="$4" first
    local deadline=$((SECONDS + patience))
    while first="$("$times" "$o" "$member" | awk -v t="$since" '$1 >= t { print; exit }')"
        [ -z "$first" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "h$o never logged h$member's failure"
            return
        fi
        sleep 0.1
    done
    echo "$first"
}

# The milliseconds from $1 to the latest of the times that follow it ("-" if one is missing).
latest_since() {
    local since="$1" latest=0 t
    shift
    for t in "$@"; do
        [ -z "$t" ] && { echo "-"; return; }
        [ "$t" -gt "$latest" ] && latest="$t"
    done
    echo $((latest - since))
}

# Every observer in OBSERVERS logged member $2's failure after $3, via $1: the milliseconds
# from $3 to the last of them.
time_until_logged() {
    local times="$1" member="$2" since="$3" o
    local -a firsts=()
    for o in "${observers[@]}"; do firsts+=("$(first_logged "$times" "$o" "$member" "$since")"); done
    latest_since "$since" "${firsts[@]}"
}

# Member $2 logged every other member's failure after $3, via $1: the milliseconds from $3 to
# the last of them.
time_until_alone() {
    local times="$1" alone="$2" since="$3" m
    local -a firsts=()
    for m in $(seq 1 "$hosts"); do
        [ "$m" -ne "$alone" ] && firsts+=("$(first_logged "$times" "$alone" "$m" "$since")")
    done
    latest_since "$since" "${firsts[@]}"
}

# Cuts member $1's link to the bridge (down) or restores it (up).
set_link() {
    ip link set "${tag}v$1" "$2"
}

all_alive() {
    local sees="$1" o m
    for o in $(seq 1 "$hosts"); do
        for m in $(seq 1 "$hosts"); do
            [ "$("$sees" "$o" "$m")" = alive ] || return 1
        done
    done
}

# The web service Khutulun fails over: HOSTS-1 HTTP servers, each on its own host.
cat >"$work/web.yaml" <<EOF
tosca_definitions_version: tosca_2_0
imports:
  - profile: khutulun
service_template:
  node_templates:
    web:
      type: Process
      properties:
        command: python3
        arguments: [ -m, http.server, '8000', --bind, 0.0.0.0 ]
  policies:
    - n: { type: Redundancy, properties: { minimum_count: $((hosts - 1)) }, targets: [ web ] }
    - apart: { type: Separation, targets: [ web ] }
EOF

# Which host runs web-0 and its pid, as host $1 sees it: "host pid".
web_zero() {
    kh "$1" service status web --format json 2>/dev/null | python3 -c '
import json, sys
for i in json.load(sys.stdin)["instances"]:
    if i["id"] == "web-0" and i["state"] == "running" and not i.get("host_down"):
        print(i["host"], i["attributes"].get("pid", ""))' 2>/dev/null
}

declare -a serf_detect=() serf_join=() serf_bytes=() kh_detect=() kh_join=() kh_bytes=() kh_failover=()
declare -a serf_logged=() kh_logged=() serf_alone=() kh_alone=()
victim="$hosts"
observers=()
for h in $(seq 1 $((hosts - 1))); do observers+=("$h"); done

for round in $(seq 1 "$rounds"); do
    say "round $round of $rounds: Serf"
    for h in $(seq 1 "$hosts"); do serf_start "$h"; sleep 0.2; done
    wait_until "$patience" all_alive serf_sees || say "Serf did not converge"
    serf_bytes+=("$(traffic)")
    killed="$(now_ms)"
    kill -9 "${serf_pid[$victim]}"
    serf_detect+=("$(time_until_seen serf_sees "$victim" failed "$killed")")
    serf_logged+=("$(time_until_logged serf_failed_times "$victim" "$killed")")
    start="$(now_ms)"
    serf_start "$victim"
    serf_join+=("$(time_until_seen serf_sees "$victim" alive "$start")")
    cut_at="$(now_ms)"
    set_link "$victim" down
    serf_alone+=("$(time_until_alone serf_failed_times "$victim" "$cut_at")")
    set_link "$victim" up
    for h in $(seq 1 "$hosts"); do kill -9 "${serf_pid[$h]}" 2>/dev/null || true; done
    sleep 1

    say "round $round of $rounds: Khutulun"
    rm -rf "$work/state" "$work"/runtime-*
    for h in $(seq 1 "$hosts"); do kh_start "$h"; done
    wait_until "$patience" all_alive kh_sees || say "Khutulun did not converge"
    kh_bytes+=("$(traffic)")
    kh 1 service deploy "$work/web.yaml" --name web >/dev/null
    read -r web_host web_pid <<<"$(web_zero 1)"
    doomed="${web_host#h}"
    # The host that runs web-0 dies with its instance; the last host is the free one.
    killed="$(now_ms)"
    kill -9 "${kh_pid[$doomed]}" "$web_pid"
    observers=()
    for h in $(seq 1 "$hosts"); do [ "$h" -ne "$doomed" ] && observers+=("$h"); done
    kh_detect+=("$(time_until_seen kh_sees "$doomed" down "$killed")")
    kh_logged+=("$(time_until_logged kh_down_times "$doomed" "$killed")")
    moved="-"
    deadline=$((SECONDS + patience))
    while [ "$SECONDS" -lt "$deadline" ]; do
        read -r now_host _ <<<"$(web_zero "${observers[0]}")"
        if [ -n "${now_host:-}" ] && [ "$now_host" != "$web_host" ] &&
            curl -fsS -o /dev/null --max-time 1 "http://$(ip_of "${now_host#h}"):8000/"; then
            moved=$(($(now_ms) - killed))
            break
        fi
        sleep 0.05
    done
    kh_failover+=("$moved")
    start="$(now_ms)"
    kh_start "$doomed"
    kh_join+=("$(time_until_seen kh_sees "$doomed" alive "$start")")
    cut_at="$(now_ms)"
    set_link "$hosts" down
    kh_alone+=("$(time_until_alone kh_down_times "$hosts" "$cut_at")")
    set_link "$hosts" up
    kh 1 service delete web >/dev/null 2>&1 || true
    for h in $(seq 1 "$hosts"); do kill -9 "${kh_pid[$h]}" 2>/dev/null || true; done
    pkill -9 -f "http.server 8000" 2>/dev/null || true
    observers=()
    for h in $(seq 1 $((hosts - 1))); do observers+=("$h"); done
    sleep 1
done

# min / median / max of the arguments (in ms, or bytes), "-" entries left out.
stats() {
    printf '%s\n' "$@" | grep -v '^-$' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- | - | -"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%s | %s | %s\n", v[1], m, v[NR]
        }'
}

echo "Hosts: $hosts, rounds: $rounds, $(nproc) cores, $(uname -r). Times in ms, traffic in bytes per member per second; min | median | max."
echo
echo "| measure | Serf min | median | max | Khutulun min | median | max |"
echo "|---|---|---|---|---|---|---|"
echo "| kill → down on every survivor, polled | $(stats "${serf_detect[@]}") | $(stats "${kh_detect[@]}") |"
echo "| kill → down on every survivor, as logged | $(stats "${serf_logged[@]}") | $(stats "${kh_logged[@]}") |"
echo "| link cut → the cut-off member sees every other down (as logged) | $(stats "${serf_alone[@]}") | $(stats "${kh_alone[@]}") |"
echo "| restart → alive on every other member | $(stats "${serf_join[@]}") | $(stats "${kh_join[@]}") |"
echo "| traffic per member, quiet | $(stats "${serf_bytes[@]}") | $(stats "${kh_bytes[@]}") |"
echo "| kill → moved instance answers HTTP | n/a | n/a | n/a | $(stats "${kh_failover[@]}") |"
echo
echo "Raw: serf_detect=${serf_detect[*]} serf_logged=${serf_logged[*]} kh_logged=${kh_logged[*]} serf_alone=${serf_alone[*]} kh_alone=${kh_alone[*]} serf_join=${serf_join[*]} kh_detect=${kh_detect[*]} kh_join=${kh_join[*]} kh_failover=${kh_failover[*]}"
