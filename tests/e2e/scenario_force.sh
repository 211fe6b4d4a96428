# shellcheck shell=bash
# prepare with vhostuser_force on e2e-a, where the OpenStack instance nova1 still runs on
# dpdkvhostuser and the Open vSwitch restart is pending: the restart runs and the play names
# the VM it cut; the migrated VMs reconnect by themselves.
check "prepare with vhostuser_force runs" play prepare-force nfv.vhostuser.prepare --limit e2e-a -e vhostuser_force=true
check "the play names the VM the forced restart cut" \
    log_has prepare-force "Open vSwitch restarted with vhostuser_force: nova1 lost their network"
check "e2e-a: Open vSwitch was restarted (new ovs-vswitchd)" test "$(vswitchd_pid e2e-a)" != "${VSWITCHD_PID[e2e-a]}"
check "e2e-a: ovs-vswitchd now runs as openvswitch:hugetlbfs" test "$(vswitchd_ids e2e-a)" = openvswitch:hugetlbfs
check "e2e-a: the state file says no restart is pending" \
    sh -c "$HOST exec e2e-a -- cat /var/lib/nfv-vhostuser/state.json | jq -e '.pending_ovs_restart == false and .ovs_restarted == true'"
wait_client_connected() {
    local _
    for _ in $(seq 1 40); do client_connected e2e-a 2 && return 0; sleep 3; done
    return 1
}
check "e2e-a: the two migrated VMs reconnect by themselves" wait_client_connected
for vm in e2e-a-vm1 e2e-a-vm2; do
    check "e2e-a: $vm's guest answers through its port again" guest_reachable e2e-a "$vm"
done
check "e2e-a: nova1's guest no longer answers (the cut the play named is real)" fails guest_reachable e2e-a nova1 15
