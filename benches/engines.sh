#!/usr/bin/env bash
# Whole-process benchmark of containers and virtual machines (issue 13), printed as Markdown for
# benches/RESULTS.md:
#
#   - deploy latency (CLI `service deploy` until every container runs) of services of N busybox
#     containers through the podman delegate, beside `podman --url SOCKET run -d` of the same
#     containers one after the other (the floor);
#   - the same through the docker delegate (a Delegation policy), beside creating and starting
#     the same containers through the Docker API of the same socket with curl, one after the
#     other (the floor: what `docker run -d` sends; no Docker CLI or dockerd here, so the
#     socket is Podman's Docker-compatible one);
#   - a virtual machine's deploy until its guest prints its boot line on the serial console,
#     beside `virsh define` and `virsh start` of the same domain XML until the same line.
#
# Usage: benches/engines.sh [RUNS]   (RUNS per size, default 5; medians are reported)
# Settings: SIZES (default "1 10 50"), DELEGATES (default "podman docker"), KHUTULUN_BIN (default: build this tree's release binary),
# KHUTULUN_TEST_KERNEL (an unpacked linux-image-*-cloud-amd64; without it the VM row is left
# out). Needs Podman's API and libvirt answering (scripts/test starts both); guests run under
# TCG. Runs its own agent on a temporary store and removes everything it made when it exits.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

runs="${1:-5}"
read -r -a sizes <<<"${SIZES:-1 10 50}"
image="localhost/khutulun-busybox:test"
socket="/run/podman/podman.sock"
work="$(mktemp -d /tmp/khutulun-bench-engines.XXXXXX)"
agent_pid=""

podman_cli() {
    podman --url "unix://$socket" "$@"
}

# Removes the floor's containers (`rm -a --filter` through the API removes only one of them
# with Podman 4.3, so they are listed first).
remove_floor() {
    local ids
    ids="$(podman_cli ps -aq --filter label=khutulun.bench=floor)"
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086 # one id per word
        podman_cli rm -f -t 0 $ids >/dev/null
    fi
}

cleanup() {
    remove_floor 2>/dev/null || true
    virsh -c qemu:///system destroy khutulun-bench-floor >/dev/null 2>&1 || true
    virsh -c qemu:///system undefine khutulun-bench-floor >/dev/null 2>&1 || true
    if [ -n "$agent_pid" ]; then
        kill "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

khutulun="$(release_binary)"

if ! podman_cli image exists "$image"; then
    say "importing $image"
    mkdir -p "$work/root/bin"
    cp /bin/busybox "$work/root/bin/"
    for c in sh sleep httpd; do ln -s busybox "$work/root/bin/$c"; done
    tar -C "$work/root" -cf "$work/busybox.tar" .
    podman_cli import "$work/busybox.tar" "$image" >/dev/null
fi

# A service of N containers running `sleep 600`, by `delegate` (podman or docker).
service_of() {
    local n="$1" delegate="$2" i targets=""
    printf 'tosca_definitions_version: tosca_2_0\nimports:\n  - profile: khutulun\nservice_template:\n  node_templates:\n'
    for ((i = 0; i < n; i++)); do
        printf '    c%d:\n      type: Container\n      properties:\n        image: { reference: "%s" }\n        command: /bin/sleep\n        arguments: [ "600" ]\n        restart: "no"\n' "$i" "$image"
        targets+="c$i, "
    done
    printf '  policies:\n    - by:\n        type: Delegation\n        properties: { delegate: %s }\n        targets: [ %s ]\n' "$delegate" "${targets%, }"
}

export KHUTULUN_STATE="$work/state" KHUTULUN_RUNTIME="$work/runtime"
mkdir -p "$KHUTULUN_STATE" "$KHUTULUN_RUNTIME"
CONTAINER_HOST="unix://$socket" DOCKER_HOST="unix://$socket" KHUTULUN_VM_ACCELERATOR=tcg \
    "$khutulun" agent --name bench >"$work/agent.log" 2>&1 &
agent_pid="$!"
wait_until 30 "$khutulun" service list >/dev/null 2>&1 || {
    say "the agent did not answer; its log:"
    cat "$work/agent.log" >&2
    exit 1
}

khutulun_once() {
    local n="$1" delegate="$2" run="$3" start end
    service_of "$n" "$delegate" >"$work/service.yaml"
    start="$(now_ms)"
    "$khutulun" service deploy "$work/service.yaml" --name "bench-$delegate-$n-$run" >/dev/null
    end="$(now_ms)"
    "$khutulun" service delete "bench-$delegate-$n-$run" >/dev/null 2>&1
    echo $((end - start))
}

podman_floor_once() {
    local n="$1" run="$2" i start end
    start="$(now_ms)"
    for ((i = 0; i < n; i++)); do
        podman_cli run -d --name "floor-$run-$i" --label khutulun.bench=floor --restart no \
            --entrypoint /bin/sleep "$image" 600 >/dev/null
    done
    end="$(now_ms)"
    remove_floor
    echo $((end - start))
}

docker_api() {
    curl -sf --unix-socket "$socket" -X POST -H 'Content-Type: application/json' "$@"
}

docker_floor_once() {
    local n="$1" run="$2" i start end id body
    body="{\"Image\":\"$image\",\"Entrypoint\":[\"/bin/sleep\"],\"Cmd\":[\"600\"],\"Labels\":{\"khutulun.bench\":\"floor\"}}"
    start="$(now_ms)"
    for ((i = 0; i < n; i++)); do
        # The id from `{"Id":"…",…}`, by the shell alone (no interpreter started per container).
        id="$(docker_api -d "$body" "http://d/v1.41/containers/create?name=floor-$run-$i")"
        id="${id#*\"Id\":\"}"
        id="${id%%\"*}"
        docker_api "http://d/v1.41/containers/$id/start" >/dev/null
    done
    end="$(now_ms)"
    remove_floor
    echo $((end - start))
}

echo "| containers | delegate | floor | floor time | khutulun service deploy | ratio |"
echo "|------------|----------|-------|------------|-------------------------|-------|"
for n in "${sizes[@]}"; do
    for delegate in ${DELEGATES:-podman docker}; do
        floor_times=()
        ours_times=()
        for ((run = 0; run < runs; run++)); do
            floor_times+=("$("${delegate}_floor_once" "$n" "$run")")
            ours_times+=("$(khutulun_once "$n" "$delegate" "$run")")
        done
        floor="$(printf '%s\n' "${floor_times[@]}" | median)"
        ours="$(printf '%s\n' "${ours_times[@]}" | median)"
        case "$delegate" in
            podman) what="podman run -d" ;;
            docker) what="Docker API create + start" ;;
        esac
        echo "| $n | $delegate | $what | $floor ms | $ours ms | $(ratio "$ours" "$floor")× |"
    done
done

if [ -n "${KHUTULUN_TEST_KERNEL:-}" ]; then
    "$repo/examples/vm/make-guest.sh" "$KHUTULUN_TEST_KERNEL" "$work/guest"
    marker="khutulun guest: serving on port"
    # Waits for the boot line in `log`; prints the milliseconds since `start`.
    booted_after() {
        local log="$1" start="$2"
        until grep -q "$marker" "$log" 2>/dev/null; do sleep 0.02; done
        echo $(($(now_ms) - start))
    }
    vm_floor_once() {
        local log="$work/floor-serial.log" start
        rm -f "$log"
        sed "s|SERIAL|$log|" "$work/floor.xml" >"$work/floor-run.xml"
        start="$(now_ms)"
        virsh -c qemu:///system define "$work/floor-run.xml" >/dev/null
        virsh -c qemu:///system start khutulun-bench-floor >/dev/null
        booted_after "$log" "$start"
        virsh -c qemu:///system destroy khutulun-bench-floor >/dev/null
        virsh -c qemu:///system undefine khutulun-bench-floor >/dev/null
    }
    vm_once() {
        local run="$1" start log
        start="$(now_ms)"
        "$khutulun" service deploy examples/hello-vm.yaml --name "bench-vm-$run" \
            --input "kernel=$work/guest/vmlinuz" --input "initrd=$work/guest/initrd.gz" >/dev/null
        log="$("$khutulun" service status "bench-vm-$run" --format json |
            python3 -c 'import json, sys; print([i for i in json.load(sys.stdin)["instances"] if i["node"] == "vm"][0]["attributes"]["log"])')"
        booted_after "$log" "$start"
        "$khutulun" service delete "bench-vm-$run" >/dev/null 2>&1
    }
    # The floor's domain: what the delegate defines, with no forwarded port.
    cat >"$work/floor.xml" <<XML
<domain type='qemu'><name>khutulun-bench-floor</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>$work/guest/vmlinuz</kernel><initrd>$work/guest/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
<devices><memballoon model='none'/><serial type='file'><source path='SERIAL' append='on'/><target port='0'/></serial></devices></domain>
XML
    floor_times=()
    ours_times=()
    for ((run = 0; run < runs; run++)); do
        floor_times+=("$(vm_floor_once)")
        ours_times+=("$(vm_once "$run")")
    done
    floor="$(printf '%s\n' "${floor_times[@]}" | median)"
    ours="$(printf '%s\n' "${ours_times[@]}" | median)"
    echo
    echo "| virtual machine (TCG) | virsh define + start until the boot line (floor) | khutulun service deploy until the boot line | ratio |"
    echo "|-----------------------|--------------------------------------------------|---------------------------------------------|-------|"
    echo "| 1 | $floor ms | $ours ms | $(ratio "$ours" "$floor")× |"
fi
echo
echo "Runs per size: $runs (medians). Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
