#!/bin/sh
# Makes the guest of examples/hello-vm.yaml: a Debian cloud kernel and a busybox initramfs
# whose init brings up the network and serves a page on $HTTP_PORT (the kernel hands the
# variables Khutulun appends to its command line to init as its environment). It also says on
# its console what its disks hold: a cloud-init seed's user-data, else a disk's first bytes.
#
#   examples/vm/make-guest.sh KERNEL_DIR OUT_DIR
#
# KERNEL_DIR is an unpacked linux-image-*-cloud-amd64 package (boot/vmlinuz-*, lib/modules/*):
#   apt-get download linux-image-6.1.0-57-cloud-amd64 && dpkg-deb -x linux-image-*.deb KERNEL_DIR
# Needs busybox-static and cpio. Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.gz.
set -eu
kernel_dir="$1"
out="$2"
modules="$(echo "$kernel_dir"/lib/modules/*/kernel)"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" "$root/www"
cp /bin/busybox "$root/bin/"
for command in sh mount umount mkdir insmod ip echo httpd cat head; do
    ln -s busybox "$root/bin/$command"
done
# The network card's driver and what it needs, in the order they load.
for module in drivers/virtio/virtio_ring drivers/virtio/virtio \
    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
    drivers/virtio/virtio_pci net/core/failover drivers/net/net_failover drivers/net/virtio_net \
    drivers/block/virtio_blk drivers/cdrom/cdrom fs/isofs/isofs; do
    cp "$modules/$module.ko" "$root/lib/modules/"
done
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    failover net_failover virtio_net virtio_blk cdrom isofs; do
    insmod "/lib/modules/$module.ko"
done
# Each disk says what it holds: a cloud-init seed (an ISO 9660 image) its user-data, line by
# line; another disk its first bytes.
mkdir -p /seed
for disk in /dev/vda /dev/vdb; do
    [ -b "$disk" ] || continue
    if mount -t iso9660 -o ro "$disk" /seed 2>/dev/null; then
        while read -r line; do echo "khutulun guest: user-data: $line"; done </seed/user-data
        umount /seed
    else
        echo "khutulun guest: disk says $(head -c 32 "$disk")"
    fi
done
# QEMU's user-mode network: the guest is 10.0.2.15, the host's side 10.0.2.2; on a bridge,
# GUEST_ADDRESS and GUEST_GATEWAY from the kernel's command line say otherwise.
ip link set lo up
ip link set eth0 up
ip addr add "${GUEST_ADDRESS:-10.0.2.15/24}" dev eth0
ip route add default via "${GUEST_GATEWAY:-10.0.2.2}"
echo "<h1>${GREETING:-Hello from a Khutulun virtual machine!}</h1>" >/www/index.html
echo "khutulun guest: serving on port ${HTTP_PORT:-80}"
exec httpd -f -p "${HTTP_PORT:-80}" -h /www
INIT
chmod +x "$root/init"
mkdir -p "$out"
cp "$(ls "$kernel_dir"/boot/vmlinuz-* | head -n 1)" "$out/vmlinuz"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$out/initrd.gz"
