#!/bin/sh
# Makes the guest of examples/hello-vm.yaml: a Debian cloud kernel and a busybox initramfs
# whose init brings up the network and serves a page on $HTTP_PORT (the kernel hands the
# variables Khutulun appends to its command line to init as its environment).
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
for command in sh mount insmod ip echo httpd cat head; do
    ln -s busybox "$root/bin/$command"
done
# The network card's driver and what it needs, in the order they load.
for module in drivers/virtio/virtio_ring drivers/virtio/virtio \
    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
    drivers/virtio/virtio_pci net/core/failover drivers/net/net_failover drivers/net/virtio_net \
    drivers/block/virtio_blk; do
    cp "$modules/$module.ko" "$root/lib/modules/"
done
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for module in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
    failover net_failover virtio_net virtio_blk; do
    insmod "/lib/modules/$module.ko"
done
# A disk, when the machine has one, says what its first bytes hold.
if [ -b /dev/vda ]; then
    echo "khutulun guest: disk says $(head -c 32 /dev/vda)"
fi
# QEMU's user-mode network: the guest is 10.0.2.15, the host's side 10.0.2.2.
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "<h1>${GREETING:-Hello from a Khutulun virtual machine!}</h1>" >/www/index.html
echo "khutulun guest: serving on port ${HTTP_PORT:-80}"
exec httpd -f -p "${HTTP_PORT:-80}" -h /www
INIT
chmod +x "$root/init"
mkdir -p "$out"
cp "$(ls "$kernel_dir"/boot/vmlinuz-* | head -n 1)" "$out/vmlinuz"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$out/initrd.gz"
