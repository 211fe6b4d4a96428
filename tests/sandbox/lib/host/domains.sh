# The sandbox host's guests: libvirt domains (TCG, memfd shared memory, the project's tiny
# kernel + busybox initramfs) on a vhost-user port of br-int, in client mode (the target) or
# legacy mode. Runs inside the host, from hostctl. Sourced, never run.
# shellcheck shell=bash

GUEST_BASE=/usr/local/lib/nfv-sandbox/guest
IMAGES=/var/lib/libvirt/images
CLIENT_SOCK_DIR=/var/lib/vhost_sockets
VM_MEM_MB=${NFV_VM_MEM_MB:-256}

virsh_sys() { timeout "${VIRSH_TIMEOUT:-120}" virsh -q -c "$LIBVIRT_URI" "$@"; }

# The OvS port of a VM: recorded at vm-add (a nova port is named after its neutron port id).
vm_port() { cat "$STATE_DIR/vms/$1/port" 2>/dev/null; }

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# OpenStack's nova metadata, as nova's libvirt driver writes it into the domain XML.
nova_metadata() {
    local vm=$1 uuid=$2 port_id=$3 now
    now=$(date -u '+%Y-%m-%d %H:%M:%S')
    cat <<EOF
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:package version="23.2.3"/>
      <nova:name>$vm</nova:name>
      <nova:creationTime>$now</nova:creationTime>
      <nova:flavor name="nfv.tiny">
        <nova:memory>$VM_MEM_MB</nova:memory>
        <nova:disk>0</nova:disk>
        <nova:swap>0</nova:swap>
        <nova:ephemeral>0</nova:ephemeral>
        <nova:vcpus>1</nova:vcpus>
      </nova:flavor>
      <nova:owner>
        <nova:user uuid="7c5a3e1b9d2f4a8e8b6c0d1e2f3a4b5c">admin</nova:user>
        <nova:project uuid="3f2e1d0c9b8a47f6a5e4d3c2b1a09f8e">admin</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="$(new_uuid)"/>
      <nova:ports>
        <nova:port uuid="$port_id"/>
      </nova:ports>
    </nova:instance>
  </metadata>
EOF
}

# The domain XML. MODE is libvirt's (server: QEMU owns the socket; client: OvS does).
domain_xml() {
    local vm=$1 socket=$2 mode=$3 mac=$4 uuid=$5 port=$6 nova=$7 port_id=$8 root_label=$9
    echo "<domain type='qemu'>"
    echo "  <name>$vm</name>"
    [ -z "$uuid" ] || echo "  <uuid>$uuid</uuid>"
    [ -z "$nova" ] || nova_metadata "$vm" "$uuid" "$port_id"
    cat <<EOF
  <memory unit='MiB'>$VM_MEM_MB</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$IMAGES/$vm/vmlinuz</kernel>
    <initrd>$IMAGES/$vm/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$vm-serial.log'/>
      <target port='0'/>
    </serial>
    <interface type='vhostuser'>
      <mac address='$mac'/>
      <source type='unix' path='$socket' mode='$mode'/>
      <model type='virtio'/>
EOF
    [ -z "$nova" ] || echo "      <target dev='$port'/>"
    cat <<EOF
      <rom enabled='no'/>
    </interface>
    <memballoon model='none'/>
  </devices>
EOF
    # The per-domain form of qemu.conf's legacy user = "root".
    [ -z "$root_label" ] || echo "  <seclabel type='static' model='dac' relabel='yes'><label>+0:+0</label></seclabel>"
    echo "</domain>"
}

valid_vm_name() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || die "bad VM name '$1' (letters, digits, . _ -; up to 41)"
}

# Defines and starts VM on a new port of br-int. Returns once `virsh start` did; vm-wait
# waits for `connected`.
vm_add() {
    local vm=${1:-} state="" nova="" port port_id="" socket mode mac uuid="" root_label="" xml t0
    shift || true
    while (($#)); do
        case $1 in
        --state) state=${2:?--state needs legacy or client}; shift 2 ;;
        --nova) nova=${2:?--nova needs an instance UUID}; shift 2 ;;
        *) die "vm-add: unknown argument '$1'" ;;
        esac
    done
    valid_vm_name "$vm"
    [ -n "$state" ] || state=$(cat "$STATE_DIR/state")
    [[ $state == legacy || $state == client ]] || die "vm-add: --state must be legacy or client"
    if [ -n "$nova" ]; then
        [[ $nova =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
            die "vm-add: --nova wants an instance UUID (8-4-4-4-12 lowercase hex), got '$nova'"
        uuid=$nova
    fi
    ovs_paths
    [ -d "$STATE_DIR/vms/$vm" ] && die "vm $vm exists already"
    virsh_sys dominfo "$vm" >/dev/null 2>&1 && die "libvirt already has a domain named $vm"
    if [ -n "$nova" ]; then
        # neutron names the port vhu + the first 11 characters of its port id.
        port_id=$(new_uuid)
        port=vhu${port_id:0:11}
    else
        port=vhu-$vm
        ((${#port} <= 15)) || port=vhu$(printf '%s' "$vm" | cksum | cut -d' ' -f1)
    fi
    mac=$(mac_for "$(hostname)/$vm")
    if [ "$state" = client ]; then
        socket=$CLIENT_SOCK_DIR/$port
        mode=server
    else
        socket=$RUN_DIR/$port
        mode=client
        # A vswitchd not running as root makes its dpdkvhostuser sockets rwxr-xr-x: only a QEMU
        # running as root can use them (how legacy VMs ran where qemu.conf said user = "root").
        [ "$(stat -c %u /proc/"$(vswitchd_pid)")" = 0 ] || root_label=1
    fi
    t0=$(now_ms)
    mkdir -p "$STATE_DIR/vms/$vm" "$IMAGES/$vm"
    echo "$port" >"$STATE_DIR/vms/$vm/port"
    echo "$state" >"$STATE_DIR/vms/$vm/state"
    # Each domain its own copy: libvirt's DAC driver will not label one file for two domains.
    cp "$GUEST_BASE/vmlinuz" "$GUEST_BASE/initrd.gz" "$IMAGES/$vm/"
    vsctl --may-exist add-br br-int -- set Bridge br-int datapath_type=netdev
    if [ "$state" = client ]; then
        vsctl add-port br-int "$port" -- set Interface "$port" type=dpdkvhostuserclient \
            "options:vhost-server-path=$socket"
    else
        vsctl add-port br-int "$port" -- set Interface "$port" type=dpdkvhostuser
    fi
    if [ -n "$nova" ]; then
        vsctl set Interface "$port" "external_ids:iface-id=$port_id" external_ids:iface-status=active \
            "external_ids:attached-mac=$mac" "external_ids:vm-uuid=$nova"
    fi
    xml=$STATE_DIR/vms/$vm/domain.xml
    domain_xml "$vm" "$socket" "$mode" "$mac" "$uuid" "$port" "$nova" "$port_id" "$root_label" >"$xml"
    virsh_sys define "$xml" >/dev/null || die "virsh define $vm failed"
    if ! VIRSH_TIMEOUT=120 virsh_sys start "$vm" >/dev/null; then
        show_tail "/var/log/libvirt/qemu/$vm.log" 15
        die "virsh start $vm failed (port $port, socket $socket)"
    fi
    say "vm $vm started in $(since "$t0"): $state, port $port ($(vsctl get Interface "$port" type)), $mode-mode socket $socket${nova:+, nova instance $nova}${root_label:+, QEMU as root}"
}

port_connected() {
    [ "$(vsctl --if-exists get Interface "$1" status:status 2>/dev/null)" = '"connected"' ] ||
        [ "$(vsctl --if-exists get Interface "$1" status:status 2>/dev/null)" = connected ]
}

# Waits until every VM's port is `connected` (a guest driver uses it), up to SECONDS in all.
vm_wait() {
    local seconds=${1:?} vm port deadline t0 left
    shift
    ovs_paths
    t0=$(now_ms)
    deadline=$((t0 + seconds * 1000))
    for vm in "$@"; do
        port=$(vm_port "$vm") || die "no vm $vm on this host"
        until port_connected "$port"; do
            if (($(now_ms) > deadline)); then
                printf '%s: error: vm %s: port %s not connected after %d s\n' "$SANDBOX_PROG" "$vm" "$port" "$seconds" >&2
                vsctl --columns=name,type,options,error,status list Interface "$port" >&2 || true
                show_tail "/var/log/libvirt/qemu/$vm.log" 10
                show_tail "/var/log/libvirt/qemu/$vm-serial.log" 5
                exit 1
            fi
            sleep 0.5
        done
        left=$(since "$t0")
        say "vm $vm: port $port connected ($left after the wait began)"
    done
}

vm_list() {
    local d vm port state
    ovs_paths
    [ -d "$STATE_DIR/vms" ] || return 0
    for d in "$STATE_DIR"/vms/*/; do
        [ -d "$d" ] || continue
        d=${d%/}
        vm=${d##*/}
        port=$(vm_port "$vm")
        state=$(virsh_sys domstate "$vm" 2>/dev/null || echo '?')
        printf '  vm %-14s %-8s %-16s %-20s %s\n' "$vm" "$(cat "$d/state")" "$port" \
            "$(vsctl --if-exists get Interface "$port" type 2>/dev/null)/$(vsctl --if-exists get Interface "$port" status:status 2>/dev/null | tr -d '"')" \
            "$state"
    done
}

# Every running domain destroyed (stop of the host: QEMUs first, as a node's shutdown does).
destroy_all() {
    local vm
    command -v virsh >/dev/null || return 0
    [ -n "$(daemon_pid libvirtd)" ] || return 0
    while read -r vm; do
        [ -n "$vm" ] || continue
        VIRSH_TIMEOUT=60 virsh_sys destroy "$vm" >/dev/null 2>&1 || say "could not destroy $vm"
    done < <(VIRSH_TIMEOUT=30 virsh_sys list --name 2>/dev/null)
}
