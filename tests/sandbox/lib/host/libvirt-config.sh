# libvirt's stock system configuration (qemu.conf, libvirtd.conf, virtlogd.conf, ...) of the
# installed libvirt version. It ships in libvirt-daemon-system, which must never be installed on
# the machine (its scripts add users and start services): the package is downloaded once,
# unpacked, and only its /etc/libvirt kept in a cache. Sourced by tests/sandbox/host.
# shellcheck shell=bash

libvirt_version() { dpkg-query -W -f='${Version}' libvirt-daemon 2>/dev/null; }

libvirt_config_cache() {
    local guest
    guest=$(guest_cache)
    echo "${guest%/*}/libvirt-config-$(libvirt_version | tr ':~+' '___')"
}

# Prints the directory holding the stock etc/libvirt, fetching it the first time.
libvirt_stock_config() {
    local cache version stage lock_fd
    version=$(libvirt_version)
    [ -n "$version" ] || die "libvirt-daemon is not installed (tools/setup installs it)"
    cache=$(libvirt_config_cache)
    if [ -s "$cache/etc/libvirt/qemu.conf" ]; then
        echo "$cache"
        return 0
    fi
    mkdir -p "${cache%/*}"
    exec {lock_fd}>"${cache%/*}/.libvirt-config.lock"
    flock -w 300 "$lock_fd" || die "another fetch holds ${cache%/*}/.libvirt-config.lock"
    if [ ! -s "$cache/etc/libvirt/qemu.conf" ]; then
        stage=$(mktemp -d "${cache%/*}/.libvirt-config.XXXXXX")
        say "libvirt: fetching the stock configuration of libvirt $version (libvirt-daemon-system, downloaded, not installed)"
        if ! (cd "$stage" && apt-get -q -o APT::Sandbox::User=root download "libvirt-daemon-system=$version") >"$stage/log" 2>&1; then
            show_tail "$stage/log" 10
            rm -rf -- "$stage"
            die "apt-get download libvirt-daemon-system=$version failed (apt-get update may help)"
        fi
        dpkg-deb -x "$stage"/libvirt-daemon-system_*.deb "$stage/root"
        [ -s "$stage/root/etc/libvirt/qemu.conf" ] || die "libvirt-daemon-system $version has no etc/libvirt/qemu.conf"
        mkdir -p "$stage/out/etc"
        mv "$stage/root/etc/libvirt" "$stage/out/etc/libvirt"
        rm -rf -- "$cache"
        mv "$stage/out" "$cache"
        rm -rf -- "$stage"
    fi
    exec {lock_fd}>&-
    echo "$cache"
}
