# shellcheck shell=bash
# prepare: check mode changes nothing; the real run configures both hosts, re-owns e2e-b's files
# left on hugetlbfs's old GID, restarts libvirtd (VMs keep running) and refuses the Open vSwitch
# restart that would cut the legacy VMs; a second run changes nothing.
declare -A QEMU_CONF_SUM SYSCONFIG_SUM VSWITCHD_PID
for h in e2e-a e2e-b; do
    QEMU_CONF_SUM[$h]=$(sum_of "$h" /etc/libvirt/qemu.conf)
    SYSCONFIG_SUM[$h]=$(sum_of "$h" /etc/sysconfig/openvswitch)
    VSWITCHD_PID[$h]=$(vswitchd_pid "$h")
done
OLD_GID=$(on e2e-b getent group hugetlbfs | cut -d: -f3)
check "e2e-b starts with hugetlbfs on another GID ($OLD_GID)" test "$OLD_GID" != 42477
check "e2e-b has files on that GID" test -n "$(on e2e-b find /dev/hugepages /var/lib/openvswitch -xdev -gid "$OLD_GID")"

check "prepare --check runs" play prepare-check nfv.vhostuser.prepare --check --diff
check "prepare --check says what would change" test "$(recap prepare-check changed)" -gt 0
for h in e2e-a e2e-b; do
    check "$h: check mode left qemu.conf and the sysconfig file as they were" \
        test "$(sum_of "$h" /etc/libvirt/qemu.conf) $(sum_of "$h" /etc/sysconfig/openvswitch)" = \
        "${QEMU_CONF_SUM[$h]} ${SYSCONFIG_SUM[$h]}"
    check "$h: check mode wrote no state" fails on "$h" test -e /var/lib/nfv-vhostuser/state.json
done
check "e2e-b: check mode left hugetlbfs on its GID" test "$(on e2e-b getent group hugetlbfs | cut -d: -f3)" = "$OLD_GID"

check "prepare runs" play prepare nfv.vhostuser.prepare
check "prepare refuses the Open vSwitch restart while legacy VMs run, and names them" \
    log_has prepare "Open vSwitch restart PENDING: it would cut 3 VM(s) on dpdkvhostuser ports (e2e-a-vm1, e2e-a-vm2, nova1)"
for h in e2e-a e2e-b; do
    check "$h: hugetlbfs has GID 42477, with qemu and openvswitch in it" \
        sh -c "$HOST exec $h -- getent group hugetlbfs | grep -qE '^hugetlbfs:x:42477:(qemu,openvswitch|openvswitch,qemu)\$'"
    check "$h: qemu.conf's first group line is hugetlbfs" \
        test "$(on "$h" grep -m1 -E '^[[:space:]]*group[[:space:]]*=' /etc/libvirt/qemu.conf)" = 'group = "hugetlbfs"'
    check "$h: OVS_USER_ID is openvswitch:hugetlbfs" \
        on "$h" grep -qx 'OVS_USER_ID="openvswitch:hugetlbfs"' /etc/sysconfig/openvswitch
    check "$h: the socket directory is qemu:hugetlbfs, setgid 2775" \
        stat_is "$h" /var/lib/vhost_sockets "qemu:hugetlbfs 2775 directory"
    check "$h: Open vSwitch was not restarted (same ovs-vswitchd)" test "$(vswitchd_pid "$h")" = "${VSWITCHD_PID[$h]}"
    check "$h: the state file records the pending restart, root only" \
        sh -c "$HOST exec $h -- cat /var/lib/nfv-vhostuser/state.json | jq -e '.pending_ovs_restart == true' &&
            test \"\$($HOST exec $h -- stat -c %a /var/lib/nfv-vhostuser/state.json)\" = 600"
    check "$h: the state file names the backups of qemu.conf and the sysconfig file" \
        sh -c "$HOST exec $h -- cat /var/lib/nfv-vhostuser/state.json |
            jq -e '(.prepare.qemu_conf.backup | test(\"qemu.conf\")) and (.prepare.ovs_user.backup | test(\"openvswitch\"))'"
done
check "e2e-a: its 3 dpdkvhostuser ports are still connected" legacy_connected e2e-a 3
check "e2e-b: its 3 dpdkvhostuser ports are still connected" legacy_connected e2e-b 3
check "e2e-a: each of its 3 guests still answers through its port" guests_reachable e2e-a 3
check "e2e-b: each of its 3 guests still answers through its port" guests_reachable e2e-b 3
check "e2e-b: no file is left on the old GID $OLD_GID" \
    test -z "$(on e2e-b find /var/lib/vhost_sockets /etc/openvswitch /var/log/openvswitch /var/lib/openvswitch /run/openvswitch /dev/hugepages -xdev -gid "$OLD_GID")"
check "e2e-b: /dev/hugepages now belongs to GID 42477" test "$(on e2e-b stat -c %g /dev/hugepages)" = 42477
check "e2e-b: the state file lists the files re-owned from GID $OLD_GID" \
    sh -c "$HOST exec e2e-b -- cat /var/lib/nfv-vhostuser/state.json | jq -e '.prepare.group.gid == $OLD_GID and (.prepare.group.reowned | length) > 0'"

check "prepare again runs" play prepare-again nfv.vhostuser.prepare
check "prepare again changes nothing" test "$(recap prepare-again changed)" = 0
