# Shared by tests/e2e/live and bench/live-swap: sandbox VMs shaped for the live NIC swap (a
# second vhost-user NIC, a PCIe root port without hot-plug) and what shows that a guest ran on
# through it (its QEMU process, its heartbeat). Needs `on` (tests/e2e/lib.sh). Sourced.
# shellcheck shell=bash

# A second legacy vhost-user NIC for VM on HOST, persistent, plugged while the guest runs: its
# dpdkvhostuser port PORT and an interface mode='client' on Open vSwitch's socket (QEMU runs
# as qemu:qemu there and opens the root:qemu socket through its group).
add_second_nic() {
    local host=$1 vm=$2 port=$3 mac=$4
    on "$host" ovs-vsctl add-port br-int "$port" -- set Interface "$port" type=dpdkvhostuser >/dev/null &&
        on "$host" sh -c "cat >/tmp/$port.xml <<XML
<interface type='vhostuser'>
  <mac address='$mac'/>
  <source type='unix' path='/var/run/openvswitch/$port' mode='client'/>
  <target dev='$port'/>
  <model type='virtio'/>
  <rom enabled='no'/>
</interface>
XML
virsh attach-device $vm /tmp/$port.xml --live --config >/dev/null" &&
        on "$host" ovs-vsctl --timeout=120 wait-until Interface "$port" status:status=connected
}

# VM's NIC behind a PCIe root port with hotplug='off' (the first root port, where libvirt puts
# it): defined so, then powered off and started, connected again.
no_hotplug() {
    local host=$1 vm=$2 port=$3
    on "$host" sh -c "virsh dumpxml --inactive $vm >/tmp/$vm.xml &&
        sed -i \"s|<target chassis='1' port='0x8'/>|<target chassis='1' port='0x8' hotplug='off'/>|\" /tmp/$vm.xml &&
        grep -q \"hotplug='off'\" /tmp/$vm.xml && virsh define /tmp/$vm.xml >/dev/null &&
        virsh destroy $vm >/dev/null && virsh start $vm >/dev/null" &&
        on "$host" ovs-vsctl --timeout=120 wait-until Interface "$port" status:status=connected
}

# "pid start-time" of VM's QEMU (start time: clock ticks after boot, /proc/<pid>/stat field 22).
# shellcheck disable=SC2016 # expanded inside the host
qemu_identity() {
    on "$1" sh -c 'pid=$(pgrep -f "^/usr/bin/qemu-system-x86_64 -name guest=$1,") &&
        echo "$pid $(sed "s/.*) //" "/proc/$pid/stat" | cut -d" " -f20)"' sh "$2"
}

# The guest's last heartbeat: its uptime in seconds (the guest prints it once a second).
guest_uptime() {
    on "$1" sh -c "grep '^GUEST-UPTIME: ' /var/log/libvirt/qemu/$2-serial.log | tail -n 1 | cut -d' ' -f2"
}

# How many times the guest has booted since its serial log began.
guest_boots() { on "$1" grep -c '^GUEST-READY' "/var/log/libvirt/qemu/$2-serial.log"; }

# The guest's heartbeat is later than UPTIME: it ran on, and did not boot again.
uptime_beyond() {
    local now
    now=$(guest_uptime "$1" "$2")
    awk -v a="$now" -v b="$3" 'BEGIN { exit !(a > b) }'
}

# Waits up to 10 s for a heartbeat later than UPTIME.
heartbeat_after() {
    local _
    for _ in $(seq 20); do
        uptime_beyond "$@" && return 0
        sleep 0.5
    done
    echo "no heartbeat of $2 after uptime $3 (last: $(guest_uptime "$1" "$2"))"
    return 1
}
