# The tiny Linux guest: Debian's cloud kernel plus a busybox initramfs that loads virtio-net and
# brings the NIC up. Without a guest driver using the NIC, OvS never reports status=connected.
# Sourced by tests/sandbox/node.
# shellcheck shell=bash

# Bump when the initramfs recipe changes, so cached guests are rebuilt. Each recipe has a cache
# directory of its own, so branches with different recipes never rebuild each other's guest.
# 2: a once-a-second heartbeat with the guest's uptime, and links brought up again after a
# NIC is hot-plugged (what a guest's network configuration does).
GUEST_RECIPE=2

# Loaded in this order: each needs the ones before it. Missing ones are built in or do not
# exist in that kernel (virtio_pci_*_dev are 5.15+).
GUEST_MODULES=(
    drivers/virtio/virtio_ring drivers/virtio/virtio
    drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci
    net/core/failover drivers/net/net_failover drivers/net/virtio_net
)

# Shared by every node and every run: the kernel download is 27 MB.
guest_cache() {
    if [ -n "${NFV_GUEST_CACHE:-}" ]; then
        echo "$NFV_GUEST_CACHE"
    elif [ -n "${HOME:-}" ]; then
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/nfv-vhostuser/guest-r$GUEST_RECIPE"
    else
        echo "${DIR%/*}/nfv-guest"
    fi
}

guest_cached() {
    local cache=$1
    [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ] && grep -qx "recipe=$GUEST_RECIPE" "$cache/stamp" 2>/dev/null
}

# The package behind linux-image-cloud-amd64, e.g. linux-image-6.1.0-56-cloud-amd64.
cloud_kernel_package() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1
}

# /init: PID 1 of the guest.
guest_init() {
    cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /mods/order); do
    insmod "/mods/$m.ko" || echo "GUEST: insmod $m failed" >/dev/ttyS0
done
# virtio_net probes during insmod; allow a moment in case the device shows up late.
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do usleep 100000; n=$((n + 1)); done
ifs=""
for i in /sys/class/net/*; do
    ip link set "${i##*/}" up
    ifs="$ifs ${i##*/}"
done
echo "GUEST-READY:$ifs" >/dev/ttyS0
# The heartbeat proves the guest ran on (its uptime never resets) through a live NIC swap; a
# NIC plugged in later is brought up as a guest's network configuration would.
while true; do
    for i in /sys/class/net/eth*; do
        [ -e "$i" ] && ip link set "${i##*/}" up
    done
    read -r up _ </proc/uptime
    echo "GUEST-UPTIME: $up" >/dev/ttyS0
    sleep 1
done
EOF
}

# Lays out and packs the initramfs from the extracted kernel and busybox in STAGE.
pack_initrd() {
    local stage=$1 out=$2 kver=$3 tree=$1/initrd mod base
    mkdir -p "$tree"/{bin,proc,sys,dev,mods}
    cp "$stage/root/bin/busybox" "$tree/bin/busybox"
    : >"$tree/mods/order"
    for mod in "${GUEST_MODULES[@]}"; do
        base=${mod##*/}
        if [ -f "$stage/root/lib/modules/$kver/kernel/$mod.ko" ]; then
            cp "$stage/root/lib/modules/$kver/kernel/$mod.ko" "$tree/mods/$base.ko"
        elif [ -f "$stage/root/lib/modules/$kver/kernel/$mod.ko.xz" ]; then
            xz -dc "$stage/root/lib/modules/$kver/kernel/$mod.ko.xz" >"$tree/mods/$base.ko"
        else
            continue
        fi
        echo "$base" >>"$tree/mods/order"
    done
    grep -qx virtio_net "$tree/mods/order" ||
        grep -q '/virtio_net.ko$' "$stage/root/lib/modules/$kver/modules.builtin" ||
        die "guest: kernel $kver has no virtio_net module"
    guest_init >"$tree/init"
    chmod 0755 "$tree/init"
    (cd "$tree" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
}

guest_build() {
    local cache=$1 stage pkg kver log
    require_packages guest
    require_commands apt-get apt-cache dpkg-deb cpio gzip
    pkg=$(cloud_kernel_package)
    if [ -z "$pkg" ]; then
        # A fresh machine may have no package lists yet; the kernel is downloaded, not installed.
        say "guest: apt knows no linux-image-cloud-amd64 yet; running apt-get update"
        apt-get update -qq >&2 || true
        pkg=$(cloud_kernel_package)
    fi
    [ -n "$pkg" ] || die "guest: apt knows no linux-image-cloud-amd64 package, even after apt-get update"
    stage=$(mktemp -d "${cache%/*}/.build.XXXXXX")
    # guest_ensure runs in a command substitution, so this trap only cleans up this build.
    # shellcheck disable=SC2064 # expand now: stage is local
    trap "rm -rf -- '$stage'" EXIT
    log=$stage/build.log
    # apt-get download: fetched into the stage, never installed. Sandbox::User=root avoids
    # _apt's "download is performed unsandboxed" warning for a root-only directory.
    if ! (cd "$stage" && apt-get -q -o APT::Sandbox::User=root download "$pkg" busybox-static) >"$log" 2>&1; then
        show_tail "$log" 15
        rm -rf -- "$stage"
        die "guest: apt-get download $pkg busybox-static failed (apt-get update may help)"
    fi
    dpkg-deb -x "$stage"/linux-image-*.deb "$stage/root"
    dpkg-deb -x "$stage"/busybox-static_*.deb "$stage/root"
    kver=${pkg#linux-image-}
    [ -f "$stage/root/boot/vmlinuz-$kver" ] || die "guest: no boot/vmlinuz-$kver in $pkg"
    mkdir -p "$stage/out"
    pack_initrd "$stage" "$stage/out/initrd.gz" "$kver"
    cp "$stage/root/boot/vmlinuz-$kver" "$stage/out/vmlinuz"
    printf 'recipe=%s\nkernel=%s\nbusybox=%s\n' "$GUEST_RECIPE" "$pkg" \
        "$(dpkg-deb -f "$stage"/busybox-static_*.deb Version)" >"$stage/out/stamp"
    rm -rf -- "$cache"
    mv "$stage/out" "$cache"
    rm -rf -- "$stage"
}

# Prints the cache directory holding vmlinuz and initrd.gz, building them the first time.
guest_ensure() {
    local cache lock_fd t0
    cache=$(guest_cache)
    guest_cached "$cache" && {
        echo "$cache"
        return 0
    }
    mkdir -p "${cache%/*}"
    # One build at a time; a second caller waits and then finds the cache filled.
    exec {lock_fd}>"${cache%/*}/.guest.lock"
    flock -w 300 "$lock_fd" || die "guest: another build holds ${cache%/*}/.guest.lock"
    if ! guest_cached "$cache"; then
        t0=$(now_ms)
        say "guest: building kernel + initramfs in $cache (once; later runs reuse it)"
        guest_build "$cache"
        say "guest: built in $(since "$t0"): $(tr '\n' ' ' <"$cache/stamp")"
    fi
    exec {lock_fd}>&-
    echo "$cache"
}

guest_main() {
    (($# == 0)) || die "guest takes no arguments"
    local cache t0
    t0=$(now_ms)
    cache=$(guest_ensure)
    say "guest ready in $(since "$t0"): $cache/vmlinuz $cache/initrd.gz"
    echo "$cache"
}
