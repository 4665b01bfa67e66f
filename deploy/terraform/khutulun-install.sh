#!/bin/sh
# Run once by cloud-init (deploy/terraform's user-data) on a new machine: installs Khutulun
# from the URL in /etc/khutulun/install.env (the Debian package, or the binary with the unit
# cloud-init wrote beside it), mounts the store, then enables and starts the agent, whose
# configuration cloud-init wrote to /etc/default/khutulun.
set -eu
# shellcheck source=/dev/null
. /etc/khutulun/install.env

download="$(mktemp)"
trap 'rm -f "$download"' EXIT
curl --fail --silent --show-error --location --retry 5 --output "$download" "$KHUTULUN_PACKAGE_URL"
if [ -n "$KHUTULUN_PACKAGE_SHA256" ]; then
    echo "$KHUTULUN_PACKAGE_SHA256  $download" | sha256sum --check --quiet
fi

case "$KHUTULUN_INSTALL" in
deb)
    mv "$download" /var/cache/khutulun.deb
    DEBIAN_FRONTEND=noninteractive apt-get install -y /var/cache/khutulun.deb
    ;;
binary)
    install -m 0755 "$download" /usr/local/bin/khutulun
    install -m 0644 /etc/khutulun/khutulun-agent.service /etc/systemd/system/khutulun-agent.service
    ;;
*)
    echo "KHUTULUN_INSTALL must be deb or binary, not $KHUTULUN_INSTALL" >&2
    exit 1
    ;;
esac

# shellcheck source=/dev/null
. /etc/default/khutulun
if [ -n "$KHUTULUN_STORE_FSTAB" ]; then
    mkdir -p "$KHUTULUN_STATE"
    echo "$KHUTULUN_STORE_FSTAB" >>/etc/fstab
    mount "$KHUTULUN_STATE"
else
    mkdir -p "$KHUTULUN_STATE"
    chmod 0700 "$KHUTULUN_STATE"
fi

systemctl daemon-reload
systemctl enable --now khutulun-agent.service
