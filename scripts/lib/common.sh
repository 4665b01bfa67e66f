# Shared helpers for the scripts in scripts/: installing Debian packages and bringing up a
# session D-Bus with a `systemd --user` manager on machines where systemd is not PID 1.
# Source this file; it defines functions only and changes nothing by itself.

# Prints a progress line on stderr, so that stdout stays for results.
say() {
    printf '==> %s\n' "$*" >&2
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "need root (or sudo) to run: $*"
        return 1
    fi
}

# Installs the given Debian packages if any of them is missing; quiet and idempotent.
ensure_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# True when a systemd user manager answers on the current session bus.
user_manager_answers() {
    systemctl --user list-units --no-legend --no-pager >/dev/null 2>&1
}

# True when a session bus answers at DBUS_SESSION_BUS_ADDRESS.
session_bus_answers() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
        org.freedesktop.DBus.GetId >/dev/null 2>&1
}

# Process ids of what start_user_manager started itself (empty when it reused what ran).
KHUTULUN_STARTED_PIDS=()

# Makes a session D-Bus and a `systemd --user` manager reachable, reusing whatever already
# answers at $XDG_RUNTIME_DIR/bus (another shell may have started them) and starting only the
# missing parts. Exports XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS. Call stop_user_manager
# (e.g. from an EXIT trap) to stop what this function started, and nothing else.
start_user_manager() {
    export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg}"
    export DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
    # Without systemd as PID 1, this directory makes `systemd --user` believe systemd booted.
    if [ ! -d /run/systemd/system ]; then
        as_root mkdir -p /run/systemd/system
    fi

    if ! session_bus_answers; then
        rm -f "$XDG_RUNTIME_DIR/bus"
        say "starting a session D-Bus at $XDG_RUNTIME_DIR/bus"
        dbus-daemon --session --address="$DBUS_SESSION_BUS_ADDRESS" --nofork \
            >"$XDG_RUNTIME_DIR/dbus.log" 2>&1 &
        KHUTULUN_STARTED_PIDS+=("$!")
        wait_until 10 session_bus_answers || {
            say "the session D-Bus did not come up; see $XDG_RUNTIME_DIR/dbus.log"
            return 1
        }
    fi

    if ! user_manager_answers; then
        say "starting a systemd user manager"
        /lib/systemd/systemd --user >"$XDG_RUNTIME_DIR/systemd-user.log" 2>&1 &
        KHUTULUN_STARTED_PIDS+=("$!")
        wait_until 30 user_manager_answers || {
            say "the systemd user manager did not answer; see $XDG_RUNTIME_DIR/systemd-user.log"
            return 1
        }
    else
        say "reusing the systemd user manager on $DBUS_SESSION_BUS_ADDRESS"
    fi
}

# Stops what start_user_manager started, newest first (the manager before its bus).
stop_user_manager() {
    local i pid
    for ((i = ${#KHUTULUN_STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        pid="${KHUTULUN_STARTED_PIDS[$i]}"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    KHUTULUN_STARTED_PIDS=()
}

# Retries a command every 0.2 s until it succeeds or SECONDS_LIMIT pass; returns its verdict.
wait_until() {
    local limit="$1"
    shift
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.2
    done
}

# The socket the podman delegate talks to: $CONTAINER_HOST when set, else the rootful socket for
# root, else the user's socket (the same rule as src/delegates/podman/connection.rs).
podman_socket_uri() {
    if [ -n "${CONTAINER_HOST:-}" ]; then
        printf '%s\n' "$CONTAINER_HOST"
    elif [ "$(id -u)" -eq 0 ]; then
        printf 'unix:///run/podman/podman.sock\n'
    else
        printf 'unix://%s/podman/podman.sock\n' "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
    fi
}

# True when Podman's API answers at podman_socket_uri.
podman_answers() {
    podman --url "$(podman_socket_uri)" version >/dev/null 2>&1
}

# Process id of the Podman API service start_podman_service started (empty when it reused one).
KHUTULUN_PODMAN_PID=""

# Makes Podman's API answer at podman_socket_uri, starting `podman system service` when nothing
# answers there. On these machines (no CAP_SYS_RESOURCE, no systemd as PID 1) Podman's default
# ulimits and cgroup manager fail, so the service gets a containers.conf without default
# ulimits, with runc, cgroupfs and file events (unless CONTAINERS_CONF names one already).
# Call stop_podman_service (e.g. from an EXIT trap) to stop what this started; containers it
# ran keep running, as they would under podman.socket.
start_podman_service() {
    if podman_answers; then
        say "reusing the Podman API at $(podman_socket_uri)"
        return 0
    fi
    local uri path conf
    uri="$(podman_socket_uri)"
    case "$uri" in
        unix://*) path="${uri#unix://}" ;;
        *)
            say "CONTAINER_HOST=$uri does not answer and is not a unix:// socket this script can start"
            return 1
            ;;
    esac
    mkdir -p "$(dirname "$path")"
    conf="${CONTAINERS_CONF:-}"
    if [ -z "$conf" ]; then
        conf="$(dirname "$path")/khutulun-containers.conf"
        cat >"$conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    fi
    say "starting the Podman API service at $uri"
    CONTAINERS_CONF="$conf" podman system service --time=0 "$uri" \
        >"$(dirname "$path")/khutulun-podman-service.log" 2>&1 &
    KHUTULUN_PODMAN_PID="$!"
    wait_until 30 podman_answers || {
        say "the Podman API did not answer; see $(dirname "$path")/khutulun-podman-service.log"
        return 1
    }
}

# Stops the Podman API service start_podman_service started, if it started one.
stop_podman_service() {
    if [ -n "$KHUTULUN_PODMAN_PID" ]; then
        kill "$KHUTULUN_PODMAN_PID" 2>/dev/null || true
        wait "$KHUTULUN_PODMAN_PID" 2>/dev/null || true
        KHUTULUN_PODMAN_PID=""
    fi
}

# True when libvirt's system QEMU driver answers.
libvirt_answers() {
    virsh -c qemu:///system version >/dev/null 2>&1
}

# Makes libvirt's system QEMU driver answer at qemu:///system, starting virtlogd and libvirtd
# when nothing answers (these machines do not run systemd as PID 1, so nothing starts them).
# QEMU runs as root without relabelling files (qemu.conf), so a guest reads kernels and disks
# wherever they are; the libvirt-qemu account the package expects is created when missing.
start_libvirt() {
    if libvirt_answers; then
        say "reusing libvirt at qemu:///system"
        return 0
    fi
    getent group libvirt-qemu >/dev/null || as_root groupadd -r libvirt-qemu
    id libvirt-qemu >/dev/null 2>&1 ||
        as_root useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    if ! grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null; then
        printf 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\n' |
            as_root tee -a /etc/libvirt/qemu.conf >/dev/null
    fi
    as_root mkdir -p /var/log/libvirt /run/libvirt
    pgrep -x virtlogd >/dev/null || as_root /usr/sbin/virtlogd -d
    say "starting libvirtd"
    as_root /usr/sbin/libvirtd -d
    wait_until 30 libvirt_answers || {
        say "libvirt did not answer at qemu:///system"
        return 1
    }
}

# Prints the directory of a Debian cloud kernel (boot/vmlinuz-* and lib/modules/*), unpacked
# once into $1 from the package apt has (a guest of the libvirt tests boots it).
unpack_test_kernel() {
    local dir="$1"
    if compgen -G "$dir/boot/vmlinuz-*" >/dev/null; then
        echo "$dir"
        return 0
    fi
    local package
    package="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
    [ -n "$package" ] || {
        say "apt knows no linux-image-cloud-amd64"
        return 1
    }
    mkdir -p "$dir"
    say "unpacking $package for the virtual machine tests"
    (cd "$dir" && apt-get download "$package" >/dev/null 2>&1 && dpkg-deb -x "$package"_*.deb . &&
        rm -f "$package"_*.deb) || {
        say "could not download $package"
        return 1
    }
    echo "$dir"
}

# Process ids of every firewalld running in this shell's network namespace (the machine's own,
# for scripts/test): one there filters the traffic of every other test.
firewalld_in_this_namespace() {
    local pid here
    here="$(readlink /proc/self/ns/net)"
    for pid in $(pgrep -x firewalld 2>/dev/null); do
        if [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$here" ]; then
            echo "$pid"
        fi
    done
}

# Installs Firewalld and nftables for the ingress tests (which run their own Firewalld in a
# network namespace of its own), and stops a Firewalld the installation started in this
# namespace (Debian starts it where systemd is PID 1): it would filter every other test's
# traffic. A Firewalld that ran before is left alone, with a warning.
ensure_firewalld_installed() {
    local before after pid
    before="$(firewalld_in_this_namespace)"
    ensure_packages firewalld nftables
    after="$(firewalld_in_this_namespace)"
    for pid in $after; do
        if ! grep -qx "$pid" <<<"$before"; then
            say "stopping the firewalld the installation started (pid $pid)"
            if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm)" = systemd ]; then
                as_root systemctl disable --now firewalld >/dev/null 2>&1 || as_root kill "$pid"
            else
                as_root kill "$pid"
            fi
        fi
    done
    if [ -n "$before" ]; then
        say "warning: a firewalld runs in this network namespace; it may filter the tests' traffic"
    fi
}

# Prints the path of the khutulun binary benchmarks run: $KHUTULUN_BIN when set, else this
# tree's release build (built first).
release_binary() {
    if [ -n "${KHUTULUN_BIN:-}" ]; then
        printf '%s\n' "$KHUTULUN_BIN"
        return
    fi
    say "building the release binary"
    cargo build --quiet --release --bin khutulun
    local target_dir
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    printf '%s\n' "$target_dir/release/khutulun"
}

# The regular user the distrobox tests run an agent as (distrobox refuses root), its runtime
# directory, and the root filesystem archive its boxes are made from.
KHUTULUN_BOX_USER="${KHUTULUN_BOX_USER:-khutulun-box}"
KHUTULUN_BOX_RUNTIME_DIR="${KHUTULUN_BOX_RUNTIME_DIR:-/tmp/khutulun-box-run}"
KHUTULUN_BOX_IMAGE_ARCHIVE="${KHUTULUN_BOX_IMAGE_ARCHIVE:-/var/cache/khutulun/box-debian.tar}"
# What distrobox's init wants to find in a box (else it tries to install it), and busybox for
# the tests' web server.
KHUTULUN_BOX_PACKAGES=sudo,passwd,findutils,mount,util-linux,diffutils,pinentry-curses,wget,curl,less,bc,time,lsof,procps,busybox

# Runs a command as the box user, in its session (its runtime directory and bus).
as_box_user() {
    as_root setpriv --reuid "$KHUTULUN_BOX_USER" --regid "$KHUTULUN_BOX_USER" --init-groups \
        env HOME="$(getent passwd "$KHUTULUN_BOX_USER" | cut -d: -f6)" \
        USER="$KHUTULUN_BOX_USER" LOGNAME="$KHUTULUN_BOX_USER" \
        XDG_RUNTIME_DIR="$KHUTULUN_BOX_RUNTIME_DIR" \
        DBUS_SESSION_BUS_ADDRESS="unix:path=$KHUTULUN_BOX_RUNTIME_DIR/bus" "$@"
}

# Makes the box user ready for an agent: the account (with subordinate ids for rootless
# Podman), a user manager of its own, and the test image in its Podman storage as
# localhost/khutulun-debian:12 (made once with mmdebstrap from Debian's mirror; kept in
# $KHUTULUN_BOX_IMAGE_ARCHIVE). Without systemd as PID 1 nothing gives the user a cgroup, so
# one is made and handed to it (what logind does), and its D-Bus and `systemd --user` are
# started in it. Exports the KHUTULUN_BOX_* variables the tests read.
start_box_user() {
    ensure_packages distrobox uidmap mmdebstrap podman
    id "$KHUTULUN_BOX_USER" >/dev/null 2>&1 ||
        as_root useradd --create-home --shell /bin/bash "$KHUTULUN_BOX_USER"
    grep -q "^$KHUTULUN_BOX_USER:" /etc/subuid ||
        as_root usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$KHUTULUN_BOX_USER"
    as_root mkdir -p -m 700 "$KHUTULUN_BOX_RUNTIME_DIR"
    as_root chown "$KHUTULUN_BOX_USER:" "$KHUTULUN_BOX_RUNTIME_DIR"
    if ! box_user_manager_answers; then
        start_box_user_manager || return 1
    else
        say "reusing the user manager of $KHUTULUN_BOX_USER"
    fi
    make_box_image || return 1
    export KHUTULUN_BOX_USER KHUTULUN_BOX_RUNTIME_DIR KHUTULUN_BOX_IMAGE_ARCHIVE
}

# True when the box user's systemd user manager answers.
box_user_manager_answers() {
    as_box_user systemctl --user list-units --no-legend --no-pager >/dev/null 2>&1
}

# Starts the box user's session D-Bus and `systemd --user` in a cgroup of its own.
start_box_user_manager() {
    local hierarchies=() hierarchy
    if [ -d /sys/fs/cgroup/unified ]; then
        hierarchies=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
    else
        hierarchies=(/sys/fs/cgroup)
    fi
    for hierarchy in "${hierarchies[@]}"; do
        as_root mkdir -p "$hierarchy/$KHUTULUN_BOX_USER"
        as_root chown -R "$KHUTULUN_BOX_USER:" "$hierarchy/$KHUTULUN_BOX_USER"
    done
    [ -d /run/systemd/system ] || as_root mkdir -p /run/systemd/system
    say "starting a session D-Bus and a user manager for $KHUTULUN_BOX_USER"
    as_root rm -f "$KHUTULUN_BOX_RUNTIME_DIR/bus"
    (
        # Read before the pipe: each side of a pipe is a subshell with a pid of its own.
        local self="$BASHPID"
        for hierarchy in "${hierarchies[@]}"; do
            echo "$self" | as_root tee "$hierarchy/$KHUTULUN_BOX_USER/cgroup.procs" >/dev/null
        done
        as_box_user dbus-daemon --session --fork \
            --address="unix:path=$KHUTULUN_BOX_RUNTIME_DIR/bus"
        as_box_user /lib/systemd/systemd --user
    ) >/tmp/khutulun-box-manager.log 2>&1 &
    wait_until 30 box_user_manager_answers || {
        say "the user manager of $KHUTULUN_BOX_USER did not answer; see /tmp/khutulun-box-manager.log"
        return 1
    }
}

# Makes the box tests' image: a minimal Debian with what distrobox's init looks for, built once
# into $KHUTULUN_BOX_IMAGE_ARCHIVE and imported into the box user's Podman storage.
make_box_image() {
    if [ ! -s "$KHUTULUN_BOX_IMAGE_ARCHIVE" ]; then
        say "making the distrobox test image with mmdebstrap (once)"
        as_root mkdir -p "$(dirname "$KHUTULUN_BOX_IMAGE_ARCHIVE")"
        as_root mmdebstrap --quiet --format=tar --variant=minbase --include="$KHUTULUN_BOX_PACKAGES" \
            bookworm "$KHUTULUN_BOX_IMAGE_ARCHIVE.new" http://deb.debian.org/debian || {
            say "mmdebstrap could not make the distrobox test image"
            return 1
        }
        as_root chmod 644 "$KHUTULUN_BOX_IMAGE_ARCHIVE.new"
        as_root mv "$KHUTULUN_BOX_IMAGE_ARCHIVE.new" "$KHUTULUN_BOX_IMAGE_ARCHIVE"
    fi
    (cd / && as_box_user podman image exists localhost/khutulun-debian:12) ||
        (cd / && as_box_user podman import --quiet "$KHUTULUN_BOX_IMAGE_ARCHIVE" \
            localhost/khutulun-debian:12 >/dev/null)
}
