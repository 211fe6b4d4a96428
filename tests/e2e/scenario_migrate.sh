# shellcheck shell=bash
# migrate: check mode changes nothing; a canary VM first; a VM that will not shut down stops the
# host with every VM's state said and every other VM connected; then the whole fleet, the
# OpenStack instance untouched, and the pending Open vSwitch restart where no legacy VM is left.
quick=(-e vhostuser_shutdown_timeout=4)
NOVA_PORT=$(on e2e-a ovs-vsctl --bare --columns=name find Interface external_ids:vm-uuid="$NOVA_UUID")
check "migrate --check runs" play migrate-check nfv.vhostuser.migrate --check "${quick[@]}"
check "migrate --check says what would change" test "$(recap migrate-check changed)" -gt 0
check "e2e-a: check mode left every VM on dpdkvhostuser, connected" legacy_connected e2e-a 3
check "e2e-b: check mode left every VM on dpdkvhostuser, connected" legacy_connected e2e-b 3
check "e2e-a: after check mode, each of its 3 guests answers through its port" guests_reachable e2e-a 3
check "e2e-b: after check mode, each of its 3 guests answers through its port" guests_reachable e2e-b 3

check "a canary VM alone (vhostuser_migrate_domains)" play migrate-canary nfv.vhostuser.migrate --limit e2e-b \
    -e '{"vhostuser_migrate_domains": ["e2e-b-vm1"]}' -e vhostuser_force_off=true "${quick[@]}"
check "e2e-b-vm1 is on dpdkvhostuserclient, mode='server', its socket qemu:hugetlbfs, connected" \
    migrated e2e-b e2e-b-vm1 vhu-e2e-b-vm1
check "e2e-b-vm2 and e2e-b-vm3 are untouched" legacy_connected e2e-b 2
check "e2e-b: the canary's guest and the two others answer through their ports" guests_reachable e2e-b 3
check "e2e-b: Open vSwitch not restarted while legacy VMs run" test "$(vswitchd_pid e2e-b)" = "${VSWITCHD_PID[e2e-b]}"

check "a VM that will not shut down stops the host" \
    fails play migrate-stuck nfv.vhostuser.migrate --limit e2e-b -e vhostuser_force_off=false "${quick[@]}"
check "the play says where it stopped and why" \
    log_has migrate-stuck "Migration stopped at e2e-b-vm2: e2e-b-vm2 did not shut down within 4 s"
check "the play says where every VM stands" sh -c "grep -q 'e2e-b-vm1: running, dpdkvhostuserclient' '$OUT/migrate-stuck.log' &&
    grep -q 'e2e-b-vm2: running, legacy (dpdkvhostuser)' '$OUT/migrate-stuck.log' &&
    grep -q 'e2e-b-vm3: running, legacy (dpdkvhostuser)' '$OUT/migrate-stuck.log'"
check "after the stop, e2e-b-vm1 is still connected in client mode" migrated e2e-b e2e-b-vm1 vhu-e2e-b-vm1
check "after the stop, e2e-b-vm2 runs untouched, connected" legacy e2e-b e2e-b-vm2 vhu-e2e-b-vm2
check "after the stop, e2e-b-vm3 runs untouched, connected" legacy e2e-b e2e-b-vm3 vhu-e2e-b-vm3
check "after the stop, each of e2e-b's 3 guests answers through its port" guests_reachable e2e-b 3

check "migrate runs on the fleet" play migrate nfv.vhostuser.migrate -e vhostuser_force_off=true "${quick[@]}"
for vm in e2e-a-vm1 e2e-a-vm2; do
    check "$vm is on dpdkvhostuserclient, mode='server', its socket qemu:hugetlbfs, connected" migrated e2e-a "$vm" "vhu-$vm"
done
check "the OpenStack instance nova1 is untouched: dpdkvhostuser, mode='client', connected" legacy e2e-a nova1 "$NOVA_PORT"
check "e2e-a keeps the Open vSwitch restart pending for nova1" log_has migrate "Open vSwitch restart still PENDING: nova1"
check "e2e-a: Open vSwitch not restarted" test "$(vswitchd_pid e2e-a)" = "${VSWITCHD_PID[e2e-a]}"
for n in 1 2 3; do
    check "e2e-b-vm$n is on dpdkvhostuserclient, mode='server', its socket qemu:hugetlbfs, connected" \
        migrated e2e-b "e2e-b-vm$n" "vhu-e2e-b-vm$n"
done
check "e2e-b: the pending Open vSwitch restart ran (new ovs-vswitchd)" test "$(vswitchd_pid e2e-b)" != "${VSWITCHD_PID[e2e-b]}"
check "e2e-b: ovs-vswitchd now runs as openvswitch:hugetlbfs" test "$(vswitchd_ids e2e-b)" = openvswitch:hugetlbfs
check "e2e-a: after migrate, each of its 3 guests answers through its port (nova1 on the legacy one)" \
    guests_reachable e2e-a 3
check "e2e-b: after migrate and the Open vSwitch restart, each of its 3 guests answers through its port" \
    guests_reachable e2e-b 3
check "e2e-b: the audit says client, ready, every port connected" \
    grep -q '"msg": "client, ready; 3 of 3 dpdkvhostuserclient port(s) connected; legacy VMs: none"' "$OUT/migrate.log"
check "e2e-b: nothing pending in the state file" \
    sh -c "$HOST exec e2e-b -- cat /var/lib/nfv-vhostuser/state.json | jq -e '.pending_ovs_restart == false and (.domains | length) == 3'"

check "migrate again runs" play migrate-again nfv.vhostuser.migrate "${quick[@]}"
check "migrate again changes nothing" test "$(recap migrate-again changed)" = 0
