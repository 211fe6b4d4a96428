# Makes a fresh sandbox host look like a RHEL/TripleO OvS-DPDK compute node in STATE (legacy or
# client): accounts, /etc/sysconfig/openvswitch, libvirt's stock configuration with the node's
# settings, Open vSwitch's database and directories, sshd and the admin user. Runs inside the
# host, once, from hostctl. Sourced, never run.
# shellcheck shell=bash

ADMIN_USER=tripleo-admin
QEMU_UID=107
OVS_UID=42476
KVM_GID=36
# libvirt's compiled-in QEMU user on Debian builds: libvirtd refuses to start without it,
# whatever qemu.conf says.
BUILTIN_QEMU_USER=libvirt-qemu
BUILTIN_QEMU_ID=64055

need_free_id() {
    local db=$1 id=$2 name=$3 holder
    holder=$(getent "$db" "$id" | cut -d: -f1 || true)
    [ -z "$holder" ] || [ "$holder" = "$name" ] ||
        die "id $id for $name is taken by '$holder' (the machine's /etc/$db shows through the host's overlay)"
}

# The group with exactly this GID. The host's /etc is an overlay of the machine's, so a group
# the machine has with another GID is re-numbered here, in the host only (groupmod -g changes
# no file).
ensure_group() {
    local name=$1 gid=$2 current
    current=$(getent group "$name" | cut -d: -f3 || true)
    [ "$current" = "$gid" ] && return 0
    need_free_id group "$gid" "$name"
    if [ -n "$current" ]; then groupmod -g "$gid" "$name"; else groupadd -g "$gid" "$name"; fi
}

# The user with exactly this UID and primary group, and these supplementary groups. A user the
# machine has with other ids is replaced in the host's overlay: never usermod -u/-g, which
# would re-own files under its home directory on the machine.
ensure_user() {
    local name=$1 uid=$2 group=$3 gid=$4 groups=$5 home=$6 comment=$7 entry
    entry=$(getent passwd "$name" || true)
    if [ -n "$entry" ] && [ "$(cut -d: -f3,4 <<<"$entry")" != "$uid:$gid" ]; then
        userdel "$name" 2>/dev/null || die "cannot replace the machine's account $name in the host"
        # userdel may take the user's same-named group with it.
        ensure_group "$group" "$gid"
        entry=""
    fi
    if [ -z "$entry" ]; then
        need_free_id passwd "$uid" "$name"
        useradd -K UID_MIN=100 -K UID_MAX=65000 -u "$uid" -g "$group" -G "$groups" -d "$home" -M \
            -s /sbin/nologin -c "$comment" "$name"
    else
        usermod -a -G "$groups" "$name"
    fi
}

# The accounts of a RHEL OvS-DPDK compute node, in the host's /etc overlay only.
provision_accounts() {
    local hugetlbfs_gid=$1
    ensure_group kvm "$KVM_GID"
    ensure_group qemu "$QEMU_UID"
    ensure_group hugetlbfs "$hugetlbfs_gid"
    ensure_group openvswitch "$OVS_UID"
    ensure_group "$BUILTIN_QEMU_USER" "$BUILTIN_QEMU_ID"
    getent group libvirt >/dev/null || groupadd -r libvirt
    ensure_user qemu "$QEMU_UID" qemu "$QEMU_UID" kvm,hugetlbfs / "qemu user"
    ensure_user openvswitch "$OVS_UID" openvswitch "$OVS_UID" hugetlbfs / "Open vSwitch Daemons"
    ensure_user "$BUILTIN_QEMU_USER" "$BUILTIN_QEMU_ID" kvm "$KVM_GID" "$BUILTIN_QEMU_USER" /var/lib/libvirt "Libvirt Qemu"
}

# The unprivileged admin the controller logs in as (TripleO's tripleo-admin): key only, sudo
# without a password. '*' is "no password", not "locked": sshd without PAM refuses locked ones.
provision_admin() {
    local key_file=$1 home=/home/$ADMIN_USER
    getent passwd "$ADMIN_USER" >/dev/null ||
        useradd -m -d "$home" -s /bin/bash -c "sandbox admin" -p '*' "$ADMIN_USER"
    install -d -m 0700 -o "$ADMIN_USER" -g "$ADMIN_USER" "$home/.ssh"
    install -m 0600 -o "$ADMIN_USER" -g "$ADMIN_USER" "$key_file" "$home/.ssh/authorized_keys"
    mkdir -p /etc/sudoers.d
    printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$ADMIN_USER" >/etc/sudoers.d/$ADMIN_USER.tmp
    chmod 0440 /etc/sudoers.d/$ADMIN_USER.tmp
    visudo -cqf /etc/sudoers.d/$ADMIN_USER.tmp || die "visudo rejects the sudoers entry for $ADMIN_USER"
    mv /etc/sudoers.d/$ADMIN_USER.tmp /etc/sudoers.d/$ADMIN_USER
}

# sshd on this host's loopback only, with a host key of its own (the machine's keys show
# through the /etc overlay and are replaced here).
provision_sshd() {
    rm -f /etc/ssh/ssh_host_*
    ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f /etc/ssh/ssh_host_ed25519_key
    cat >/etc/ssh/sshd_config <<EOF
# Sandbox host $(hostname): sshd on the host's own loopback, reached through nsenter --net.
ListenAddress 127.0.0.1
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin no
AllowUsers $ADMIN_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

# qemu.conf as the node's state has it, edited on the stock commented lines.
qemu_conf_settings() {
    local group=$1 conf=/etc/libvirt/qemu.conf
    grep -q '^#user = ' "$conf" || die "$conf has no stock '#user = ' line"
    grep -q '^#group = ' "$conf" || die "$conf has no stock '#group = ' line"
    sed -i -e 's/^#user = .*/user = "qemu"/' -e "s/^#group = .*/group = \"$group\"/" "$conf"
}

# No journald or syslog in the sandbox: the daemons log to files under /var/log/libvirt.
libvirt_logging() {
    local name
    for name in libvirtd virtlogd; do
        printf '\n# Sandbox host: no journald here.\nlog_outputs="3:file:/var/log/libvirt/%s.log"\n' "$name" \
            >>"/etc/libvirt/$name.conf"
    done
}

# /etc/sysconfig/openvswitch as the openvswitch RPM ships it, with OVS_USER_ID set when given.
sysconfig_openvswitch() {
    local user_id=$1
    {
        echo '### Configuration options for openvswitch'
        echo '# OVS_USER_ID: the user (and group) ovsdb-server and ovs-vswitchd run as.'
        echo '#OVS_USER_ID="openvswitch:openvswitch"'
        [ -z "$user_id" ] || printf 'OVS_USER_ID="%s"\n' "$user_id"
    } >/etc/sysconfig/openvswitch
}

# TripleO's OSP 10 workaround (rhbz#1459436), as a unit override: vswitchd in group qemu with
# umask 0002, so dpdkvhostuser sockets in /var/run/openvswitch are group-writable for QEMU.
legacy_unit_override() {
    mkdir -p /etc/systemd/system/ovs-vswitchd.service.d
    cat >/etc/systemd/system/ovs-vswitchd.service.d/ovs-dpdk-permissions.conf <<'EOF'
# TripleO's OvS permission workaround for DPDK vhost-user sockets (rhbz#1459436).
[Service]
Group=qemu
UMask=0002
RuntimeDirectoryMode=0775
EOF
}

provision_ovs() {
    local owner=$1
    # The DPDK build behind the plain name, as the openvswitch-dpdk RPM has it.
    update-alternatives --quiet --set ovs-vswitchd /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
    ovsdb-tool create /etc/openvswitch/conf.db "$OVS_SCHEMA"
    # As the package's %post leaves them for OVS_USER_ID.
    chown -R "$owner" /etc/openvswitch /var/log/openvswitch /var/lib/openvswitch
}

provision() {
    local name="" state="" gid=42477 key=""
    while (($#)); do
        case $1 in
        --state) state=${2:?}; shift 2 ;;
        --hugetlbfs-gid) gid=${2:?}; shift 2 ;;
        --admin-key) key=${2:?}; shift 2 ;;
        *) die "provision: unknown argument '$1'" ;;
        esac
    done
    name=$(hostname)
    [ -e "$STATE_DIR/state" ] && die "this host is already provisioned ($(cat "$STATE_DIR/state"))"
    # The admin first: useradd numbers it from 1000 up, not after the service accounts.
    provision_admin "$key"
    provision_accounts "$gid"
    grep -q "[[:space:]]$name\$" /etc/hosts || printf '127.0.1.1\t%s\n' "$name" >>/etc/hosts
    echo "$name" >/etc/hostname
    qemu_conf_settings "$([ "$state" = legacy ] && echo qemu || echo hugetlbfs)"
    libvirt_logging
    mkdir -p /var/lib/libvirt/images /var/log/libvirt/qemu /var/cache/libvirt/qemu
    case $state in
    client)
        sysconfig_openvswitch openvswitch:hugetlbfs
        provision_ovs openvswitch:hugetlbfs
        # As TripleO's host_prep_tasks make it.
        chown qemu:hugetlbfs /var/lib/vhost_sockets
        chmod 0775 /var/lib/vhost_sockets
        ;;
    legacy)
        sysconfig_openvswitch ""
        legacy_unit_override
        provision_ovs root:root
        # A mount point here, so it cannot be absent as on an OSP 10 node: empty and root's.
        chown root:root /var/lib/vhost_sockets
        chmod 0755 /var/lib/vhost_sockets
        ;;
    *) die "provision: --state legacy|client" ;;
    esac
    provision_sshd
    echo "$state" >"$STATE_DIR/state"
}
