#!/usr/bin/env bash
# Whole-process benchmarks of the agent (issues 3 and 8), printed as Markdown for
# benches/RESULTS.md:
#
#   - deploy latency (CLI `service deploy` until every instance runs) and delete latency (CLI
#     `service delete` until the service is gone) of services of N bare processes; with user
#     units, deploys side by side with starting the same processes with `systemd-run --user`
#     (the floor);
#   - how many store files the agent reads, writes and renames per instance while it deploys
#     and deletes N processes (a separate, untimed pass of an agent under strace);
#   - the agent's resident memory when idle and with N instances (read from /proc after 2 s of
#     quiet, in the last run of each size);
#   - the release binary's size.
#
# Usage: benches/deploy.sh [RUNS]
#
# Settings, from the environment:
#   RUNS          runs per size, when no argument gives it (default 5); medians are reported
#   SIZES         the numbers of processes, ascending (default "1 10 100")
#   SUPERVISION   `units` (default): the processes run as systemd user units; a session D-Bus
#                 and a user manager are started when none answers
#                 `self`: the agent supervises them itself (it is given no session bus)
#   FLOOR         1 to time `systemd-run --user` too (default: 1 with units; never with self)
#   TRACE_SIZES   the sizes whose store reads and writes are counted (default: SIZES; empty:
#                 no strace pass)
#   KHUTULUN_BIN  a prebuilt khutulun binary to measure (default: build this tree's release
#                 binary)
#   RESULTS_FILE  also append every figure to this file, one `measure size value` line each
#                 (benches/compare.sh reads them)
#   KEEP_WORK     1 to keep the temporary directory (stores, agent logs, strace output)
#   RUNTIME_BASE  where the agent's runtime directory goes (default: /dev/shm when it is a
#                 tmpfs, as /run is on hosts systemd boots; else the temporary directory).
#                 The store stays in the temporary directory, on disk. On a disk formatted
#                 ext4 without a journal, as these VMs' is, making a file costs a look at every
#                 inode freed in the last seconds, so the per-instance files of a runtime
#                 directory there make a deploy of thousands quadratic in the kernel
#
# Each agent runs on a temporary store; everything the script started is stopped and removed
# when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

runs="${1:-${RUNS:-5}}"
read -r -a sizes <<<"${SIZES:-1 10 100}"
read -r -a trace_sizes <<<"${TRACE_SIZES-${sizes[*]}}"
supervision="${SUPERVISION:-units}"
results_file="${RESULTS_FILE:-}"
# How long one deploy or delete may take, in seconds (a thousand processes take minutes).
patience=3600

case "$supervision" in
    units) floor="${FLOOR:-1}" ;;
    self) floor=0 ;;
    *)
        say "SUPERVISION is units or self, not $supervision"
        exit 2
        ;;
esac

work="$(mktemp -d /tmp/khutulun-bench.XXXXXX)"
if [ -z "${RUNTIME_BASE:-}" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
    RUNTIME_BASE=/dev/shm
fi
runtimes="$(mktemp -d "${RUNTIME_BASE:-$work}/khutulun-bench-runtime.XXXXXX")"
# The agent the CLI talks to now: its pid, its directories, and strace's pid when traced.
agent_pid=""
tracer_pid=""
agent_state=""
agent_runtime=""
# The service being deployed or deleted, which cleanup deletes when the script stops early.
live_service=""

# The agent's environment: with `self`, a session bus that does not exist, so that the process
# delegate finds no user manager and supervises the processes itself.
agent_env=()
if [ "$supervision" = self ]; then
    agent_env=("DBUS_SESSION_BUS_ADDRESS=unix:path=$work/no-session-bus")
fi

# Milliseconds since the epoch.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# The median of the numbers on stdin.
median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Appends `measure size value` to RESULTS_FILE, when one is given.
record() {
    if [ -n "$results_file" ]; then
        echo "$1 $2 $3" >>"$results_file"
    fi
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

# Runs a command with its output in $work/command.log, which is shown when it fails.
quietly() {
    "$@" >"$work/command.log" 2>&1 || {
        local status="$?"
        say "failed ($status): $*"
        cat "$work/command.log" >&2
        return "$status"
    }
}

# The CLI, talking to the current agent.
cli() {
    KHUTULUN_RUNTIME="$agent_runtime" "$khutulun" "$@"
}

# True when the process PARENT has a child; sets agent_pid to it.
found_child() {
    agent_pid="$(pgrep -P "$1" | head -n 1)"
    [ -n "$agent_pid" ]
}

# The system calls the strace pass records: opening, renaming and removing files.
traced_calls="openat,rename,renameat,renameat2,unlink,unlinkat"

# Starts an agent on a store of its own under $work/NAME and a runtime directory under
# $runtimes/NAME, and waits until it answers. With a second argument, the agent runs under strace, which writes its store
# file opens and renames to that file.
start_agent() {
    local dir="$work/$1" trace="${2:-}"
    agent_state="$dir/state"
    agent_runtime="$runtimes/$1"
    mkdir -p "$agent_state" "$agent_runtime"
    local command=("$khutulun" agent --name bench --state "$agent_state" --runtime "$agent_runtime")
    if [ -n "$trace" ]; then
        command=(strace -f -y --seccomp-bpf -e "trace=$traced_calls" -o "$trace"
            "${command[@]}")
    fi
    say "starting an agent on $agent_state${trace:+ under strace}"
    env "${agent_env[@]}" "${command[@]}" >"$dir/agent.log" 2>&1 &
    agent_pid="$!"
    if [ -n "$trace" ]; then
        tracer_pid="$agent_pid"
        wait_until 10 found_child "$tracer_pid" || {
            say "strace did not start the agent; its output:"
            cat "$dir/agent.log" >&2
            exit 1
        }
    fi
    wait_until 30 cli service list >/dev/null 2>&1 || {
        say "the agent did not answer; its log:"
        cat "$dir/agent.log" >&2
        exit 1
    }
}

# True when process PID has ended: it is gone, or a zombie its parent has not waited for.
ended() {
    local state
    state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}

# Stops the current agent, deleting the service it was working on first (when the script
# stops early), and kills what processes it supervised itself and left behind.
stop_agent() {
    if [ -z "$agent_pid" ]; then
        return 0
    fi
    if [ -n "$live_service" ]; then
        cli service delete "$live_service" --timeout 120 >/dev/null 2>&1 || true
        live_service=""
    fi
    kill "$agent_pid" 2>/dev/null || true
    if ! wait_until 20 ended "$agent_pid"; then
        say "the agent ($agent_pid) did not stop within 20 s of SIGTERM; killing it"
        kill -KILL "$agent_pid" 2>/dev/null || true
    fi
    wait "${tracer_pid:-$agent_pid}" 2>/dev/null || true
    if [ "$supervision" = self ]; then
        kill_launched_by "$agent_pid"
    fi
    agent_pid=""
    tracer_pid=""
}

# Kills the processes that agent AGENT_PID launched itself (their KHUTULUN_LAUNCH variable
# starts with its pid) and that still run.
kill_launched_by() {
    local environ pid
    for environ in /proc/[0-9]*/environ; do
        if grep -qsz "^KHUTULUN_LAUNCH=$1-" "$environ"; then
            pid="${environ#/proc/}"
            kill "${pid%/environ}" 2>/dev/null || true
        fi
    done
}

# The store directory of the current agent's service NAME (in the default namespace).
service_dir() {
    echo "$agent_state/services/default/$1"
}

# Checks that the N instances of service NAME are supervised as SUPERVISION asks.
check_supervision() {
    local name="$1" n="$2" expected supervised
    expected="$([ "$supervision" = self ] && echo agent || echo systemd)"
    supervised="$(grep -lx " *supervisor: $expected" "$(service_dir "$name")"/instances/*.yaml |
        wc -l)"
    if [ "$supervised" -ne "$n" ]; then
        say "only $supervised of the $n instances of $name have supervisor $expected"
        exit 1
    fi
}

# Deploys service NAME of N processes, then deletes it; sets deploy_ms and delete_ms. With
# a third argument, also sets loaded_rss to the agent's memory with the N instances.
deploy_and_delete() {
    local n="$1" name="$2" measure_memory="${3:-}" start
    service_of "$n" >"$work/service-$n.yaml"
    live_service="$name"
    start="$(now_ms)"
    quietly cli service deploy "$work/service-$n.yaml" --name "$name" --timeout "$patience"
    deploy_ms=$(($(now_ms) - start))
    check_supervision "$name" "$n"
    if [ -n "$measure_memory" ]; then
        sleep 2
        loaded_rss="$(rss_mib "$agent_pid")"
    fi
    start="$(now_ms)"
    quietly cli service delete "$name" --timeout "$patience"
    delete_ms=$(($(now_ms) - start))
    live_service=""
}

# True when every one of the N instance records of service NAME says it runs; stops the
# script when one says it failed. Reads the store directly, so that waiting adds no reads by
# the agent.
store_says_running() {
    local running
    if grep -qsx 'state: failed' "$(service_dir "$1")"/instances/*.yaml; then
        say "an instance of $1 failed (KEEP_WORK=1 keeps its records)"
        exit 1
    fi
    running="$(grep -lx 'state: running' "$(service_dir "$1")"/instances/*.yaml 2>/dev/null |
        wc -l)"
    [ "$running" -eq "$2" ]
}

# True when service NAME has no record left.
store_says_gone() {
    [ ! -e "$(service_dir "$1")/service.yaml" ]
}

# Makes the agent open a store path named after MARK, which shows in its strace output.
mark() {
    cli service status "mark-$1" >/dev/null 2>&1 || true
}

# Counts, from strace output on stdin (with -y: descriptors shown with their paths), the
# agent's store operations between two marks and prints them per instance: file reads, file
# writes, renames into the store, files and directories removed, and the other opens
# (directories listed, synced or removed; lock files). DIRS lists the store's directories.
count_store_io() {
    local from="$1" to="$2" n="$3" dirs="$4"
    awk -v store="$agent_state/" -v from="/mark-$from/" -v to="/mark-$to/" -v n="$n" '
        FILENAME == ARGV[1] { directory[$0] = 1; next }
        index($0, from) { counting = 1; next }
        index($0, to) { counting = 0; next }
        !counting { next }
        {
            # Split at the double quotes: part[1] is the call up to its first path (with the
            # directory descriptor a relative path starts from), part[2] that path, part[3]
            # the flags after it; a rename has its target in part[4].
            split($0, part, "\"")
            absolute = index(part[2], store) == 1
            relative = part[2] !~ /^\// && index(part[1], store) > 0
            if (/ openat\(/ && absolute) {
                if (part[3] ~ /O_DIRECTORY/ || part[2] ~ /\.lock$/ || part[2] in directory)
                    other++
                else if (part[3] ~ /O_WRONLY|O_RDWR|O_CREAT/)
                    writes++
                else
                    reads++
            } else if (/ openat\(/ && relative) {
                other++
            } else if (/ rename(at2?)?\(/ && index(part[4], store) == 1) {
                renames++
            } else if (/ unlink(at)?\(/ && (absolute || relative)) {
                removals++
            }
        }
        END {
            printf "%.1f %.1f %.1f %.1f %.1f\n", reads / n, writes / n, renames / n, removals / n,
                other / n
        }
    ' "$dirs" -
}

# The untimed pass: an agent under strace deploys N processes and deletes them; sets
# deploy_io and delete_io to the per-instance counts of count_store_io.
trace_pass() {
    local n="$1" name="trace-$1" log="$work/trace-$1.strace" dirs="$work/trace-$1.dirs"
    start_agent "trace-$n" "$log"
    service_of "$n" >"$work/service-$n.yaml"
    mark deploying
    live_service="$name"
    quietly cli service deploy "$work/service-$n.yaml" --name "$name" --no-wait
    wait_until "$patience" store_says_running "$name" "$n" || {
        say "the $n instances of $name did not all run within $patience s"
        exit 1
    }
    sleep 1
    mark deployed
    find "$agent_state" -type d >"$dirs"
    quietly cli service delete "$name" --no-wait
    wait_until "$patience" store_says_gone "$name" || {
        say "$name was not deleted within $patience s"
        exit 1
    }
    live_service=""
    sleep 1
    mark deleted
    find "$agent_state" -type d >>"$dirs"
    stop_agent
    deploy_io="$(count_store_io deploying deployed "$n" "$dirs" <"$log")"
    delete_io="$(count_store_io deployed deleted "$n" "$dirs" <"$log")"
}

cleanup() {
    stop_agent
    if [ "$supervision" = units ]; then
        systemctl --user stop 'khutulun-floor-*' 'khutulun-bench-*' 'khutulun-trace-*' \
            >/dev/null 2>&1 || true
        stop_user_manager
    fi
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        say "kept $work"
    else
        rm -rf "$work" "$runtimes"
    fi
}
trap cleanup EXIT

# Runs cargo after the other builds of this machine (one at a time, at a lower priority).
cargo_locked() {
    flock "${KHUTULUN_BUILD_LOCK:-/tmp/khutulun-build.lock}" nice -n 5 cargo "$@"
}

if [ "$supervision" = units ]; then
    ensure_packages systemd dbus dbus-user-session procps
    start_user_manager
else
    ensure_packages procps
fi
if [ "${#trace_sizes[@]}" -gt 0 ]; then
    ensure_packages strace
fi

if [ -n "${KHUTULUN_BIN:-}" ]; then
    if [ ! -f "$KHUTULUN_BIN" ] || [ ! -x "$KHUTULUN_BIN" ]; then
        say "KHUTULUN_BIN=$KHUTULUN_BIN is not an executable file"
        exit 2
    fi
    khutulun="$(realpath "$KHUTULUN_BIN")"
else
    say "building the release binary"
    cargo_locked build --quiet --release --bin khutulun
    target_dir="$(cargo_locked metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    khutulun="$target_dir/release/khutulun"
fi

start_agent timed
sleep 2
idle_rss="$(rss_mib "$agent_pid")"
record rss_idle_mib - "$idle_rss"

declare -A deploy_median delete_median floor_median memory_with
for n in "${sizes[@]}"; do
    floor_times=()
    deploy_times=()
    delete_times=()
    for ((run = 0; run < runs; run++)); do
        if [ "$floor" = 1 ]; then
            floor_times+=("$(floor_once "$n" "$run")")
        fi
        # The agent's memory with N instances is read in the last run.
        measure_memory=""
        if [ "$run" -eq $((runs - 1)) ]; then
            measure_memory=yes
        fi
        deploy_and_delete "$n" "bench-$n-$run" "$measure_memory"
        deploy_times+=("$deploy_ms")
        delete_times+=("$delete_ms")
        record deploy_ms "$n" "$deploy_ms"
        record delete_ms "$n" "$delete_ms"
    done
    deploy_median[$n]="$(printf '%s\n' "${deploy_times[@]}" | median)"
    delete_median[$n]="$(printf '%s\n' "${delete_times[@]}" | median)"
    if [ "$floor" = 1 ]; then
        floor_median[$n]="$(printf '%s\n' "${floor_times[@]}" | median)"
    fi
    memory_with[$n]="$loaded_rss"
    record rss_mib "$n" "$loaded_rss"
done
stop_agent

# The names of count_store_io's figures, in its order (RESULTS_FILE's measures are
# deploy_<name> and delete_<name>).
store_figures=(reads writes renames removals other_opens)

# Records the figures of count_store_io (FIGURES) for step STEP (deploy or delete) of size N.
record_store_io() {
    local step="$1" n="$2" figures i
    read -r -a figures <<<"$3"
    for i in "${!store_figures[@]}"; do
        record "${step}_${store_figures[$i]}" "$n" "${figures[$i]}"
    done
}

declare -A trace_deploy trace_delete
for n in "${trace_sizes[@]}"; do
    trace_pass "$n"
    trace_deploy[$n]="$deploy_io"
    trace_delete[$n]="$delete_io"
    record_store_io deploy "$n" "$deploy_io"
    record_store_io delete "$n" "$delete_io"
done

size_mib="$(awk -v b="$(stat -c %s "$khutulun")" 'BEGIN { printf "%.1f", b / 1048576 }')"
record binary_mib - "$size_mib"

if [ "$floor" = 1 ]; then
    echo "| processes | systemd-run --user (floor) | khutulun service deploy | ratio | khutulun service delete |"
    echo "|-----------|----------------------------|-------------------------|-------|-------------------------|"
    for n in "${sizes[@]}"; do
        ratio="$(awk -v a="${deploy_median[$n]}" -v b="${floor_median[$n]}" \
            'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
        echo "| $n | ${floor_median[$n]} ms | ${deploy_median[$n]} ms | $ratio× | ${delete_median[$n]} ms |"
    done
else
    echo "| processes | khutulun service deploy | khutulun service delete |"
    echo "|-----------|-------------------------|-------------------------|"
    for n in "${sizes[@]}"; do
        echo "| $n | ${deploy_median[$n]} ms | ${delete_median[$n]} ms |"
    done
fi

echo
echo "| measure | value |"
echo "|---------|-------|"
echo "| agent resident memory, idle | $idle_rss MiB |"
for n in "${sizes[@]}"; do
    echo "| agent resident memory, $n instances | ${memory_with[$n]} MiB |"
done
echo "| stripped release binary | $size_mib MiB |"

if [ "${#trace_sizes[@]}" -gt 0 ]; then
    echo
    echo "| store operations per instance | file reads | file writes | renames | removals | directory and lock opens |"
    echo "|-------------------------------|------------|-------------|---------|----------|--------------------------|"
    for n in "${trace_sizes[@]}"; do
        echo "| deploy of $n | ${trace_deploy[$n]// / | } |"
        echo "| delete of $n | ${trace_delete[$n]// / | } |"
    done
fi

echo
echo "Binary: \`$("$khutulun" --version)\`. Processes supervised by $(
    [ "$supervision" = self ] && echo "the agent itself" || echo "systemd (user units)"
). Runs per size: $runs (medians). Store in $work, runtime directories in $runtimes. Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
