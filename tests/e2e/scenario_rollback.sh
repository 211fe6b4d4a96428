# shellcheck shell=bash
# rollback on e2e-b (prepared, fully migrated, Open vSwitch restarted): byte-identical files, the
# previous mode with every VM connected, Open vSwitch and the group as they were.
check "rollback --check runs" play rollback-check nfv.vhostuser.rollback --limit e2e-b --check
check "e2e-b: check mode left every VM on dpdkvhostuserclient, connected" client_connected e2e-b 3
check "e2e-b: after rollback --check, each of its 3 guests answers through its port" guests_reachable e2e-b 3

check "rollback runs" play rollback nfv.vhostuser.rollback --limit e2e-b -e vhostuser_force_off=true \
    -e vhostuser_shutdown_timeout=4
check "e2e-b: qemu.conf is byte-identical to before prepare" \
    test "$(sum_of e2e-b /etc/libvirt/qemu.conf)" = "${QEMU_CONF_SUM[e2e-b]}"
check "e2e-b: the Open vSwitch sysconfig file is byte-identical to before prepare" \
    test "$(sum_of e2e-b /etc/sysconfig/openvswitch)" = "${SYSCONFIG_SUM[e2e-b]}"
for n in 1 2 3; do
    check "e2e-b-vm$n is back on dpdkvhostuser, mode='client', connected" legacy e2e-b "e2e-b-vm$n" "vhu-e2e-b-vm$n"
done
check "e2e-b: after rollback, each of its 3 guests answers through its port again" guests_reachable e2e-b 3
check "e2e-b: ovs-vswitchd runs as root again" vswitchd_user_is e2e-b root
check "e2e-b: hugetlbfs has its old GID again" test "$(on e2e-b getent group hugetlbfs | cut -d: -f3)" = "$OLD_GID"
check "e2e-b: the socket directory is as it was" stat_is e2e-b /var/lib/vhost_sockets "root:root 755 directory"
check "e2e-b: the audit ends legacy, every port connected" \
    grep -q '"msg": "legacy; 3 of 3 port(s) of running VMs connected' "$OUT/rollback.log"
check "rollback again has nothing to do" play rollback-again nfv.vhostuser.rollback --limit e2e-b
check "rollback again says so and changes nothing" sh -c "grep -q 'nothing to roll back' '$OUT/rollback-again.log' &&
    test \"\$(grep -o 'changed=[0-9]*' '$OUT/rollback-again.recap' | cut -d= -f2)\" = 0"
