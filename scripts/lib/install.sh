# shellcheck shell=bash
# Shared by the scripts/test-install-* checks of deploy/: building the Debian package with
# cargo-deb, and a Python virtual environment with ansible-core and python-hcl2 from PyPI.
# Source it after common.sh and with $repo set; it defines functions only.

# The cargo-deb the checks build with (installed from crates.io when another or none is).
KHUTULUN_CARGO_DEB_VERSION="3.8.0"
# The cargo profile the checks build the package with: deb-check (Cargo.toml) is unoptimised,
# which halves the build here (2 min 40 s instead of 5 min 44 s from scratch on 2 cores);
# KHUTULUN_DEB_PROFILE=release checks the package `cargo deb` alone builds.
KHUTULUN_DEB_PROFILE="${KHUTULUN_DEB_PROFILE:-deb-check}"

# Where cargo puts what it builds.
target_dir() {
    echo "${CARGO_TARGET_DIR:-$repo/target}"
}

# Installs cargo-deb (the pinned version) unless it is already there.
ensure_cargo_deb() {
    if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $KHUTULUN_CARGO_DEB_VERSION" ]; then
        say "installing cargo-deb $KHUTULUN_CARGO_DEB_VERSION"
        cargo install --quiet --locked cargo-deb --version "$KHUTULUN_CARGO_DEB_VERSION"
    fi
}

# Builds the Debian package and prints its path. dpkg-dev gives cargo-deb dpkg-shlibdeps
# (for Depends: $auto); libvirt-dev and pkg-config are what the binary links against. --fast
# compresses less (4 s instead of 30 s here); the package holds the same files.
build_deb() {
    ensure_packages dpkg-dev libvirt-dev pkg-config
    ensure_cargo_deb
    say "building the Debian package (cargo deb --fast --profile $KHUTULUN_DEB_PROFILE)"
    local output
    output="$(cargo deb --fast --profile "$KHUTULUN_DEB_PROFILE")" || return 1
    # cargo-deb prints the package's path last.
    local deb
    deb="$(tail -n 1 <<<"$output")"
    [ -f "$deb" ] || {
        say "cargo deb printed no package path: $output"
        return 1
    }
    echo "$deb"
}

# The binary `build_deb` packaged.
built_binary() {
    echo "$(target_dir)/$KHUTULUN_DEB_PROFILE/khutulun"
}

# Makes a virtual environment with ansible-core and python-hcl2 (pinned minor versions) and
# prints its directory. It is made with Debian's Python (python3-venv), whatever `python3`
# is first on the PATH, so that it matches the interpreter Ansible runs its modules with.
deploy_venv() {
    ensure_packages python3 python3-venv
    local venv
    venv="$(target_dir)/deploy-venv"
    # Its scripts name the venv's own path: a venv that was moved is made again.
    if ! "$venv/bin/ansible-playbook" --version >/dev/null 2>&1 ||
        ! "$venv/bin/python" -c 'import hcl2' 2>/dev/null; then
        say "installing ansible-core and python-hcl2 from PyPI into $venv"
        /usr/bin/python3 -m venv --clear "$venv" >&2 || return 1
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            'ansible-core==2.19.*' 'python-hcl2==8.1.*' >&2 || return 1
    fi
    echo "$venv"
}
