# Shared by tests/e2e/run and its scenarios: sandbox hosts, the collection's playbooks run by
# name over SSH, checks of the nodes' real state, and the count of what passed. Sourced.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by tests/e2e/run
E2E=$ROOT/tests/e2e
HOST=$ROOT/tests/sandbox/host
OUT=$BUILD_DIR/e2e
passed=0
failed=0
failures=()

# check DESCRIPTION CMD...: one assertion; the command's output is shown when it fails.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then
        passed=$((passed + 1))
        printf '  ok   %s\n' "$what"
    else
        failed=$((failed + 1))
        failures+=("$what")
        printf '  FAIL %s\n' "$what"
        [ -z "$out" ] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/       /'
    fi
}

# Inside a sandbox host, as root.
on() {
    local name=$1
    shift
    "$HOST" exec "$name" -- "$@"
}

# A playbook of the collection, by name, against the running sandbox hosts; the output is kept
# in $OUT/<log>.log and its PLAY RECAP in $OUT/<log>.recap. Returns ansible-playbook's status.
play() {
    local log=$1 rc=0
    shift
    mkdir -p "$OUT"
    (cd "$WORK" && ansible-playbook -i "$INVENTORY" "$@") >"$OUT/$log.log" 2>&1 || rc=$?
    sed -n '/^PLAY RECAP/,$p' "$OUT/$log.log" >"$OUT/$log.recap"
    return "$rc"
}

# The sum of one PLAY RECAP counter (changed, failed, ...) over every host of a play's log.
recap() {
    local log=$1 key=$2
    grep -o "$key=[0-9]*" "$OUT/$log.recap" | cut -d= -f2 | awk '{s += $1} END {print s + 0}'
}

log_has() { grep -qF -- "$2" "$OUT/$1.log"; }
log_lacks() { ! grep -qF -- "$2" "$OUT/$1.log"; }

ovs_get() { on "$1" ovs-vsctl --timeout=10 get Interface "$2" "$3" | tr -d '"'; }
port_type_is() { [ "$(ovs_get "$1" "$2" type)" = "$3" ]; }
port_connected() { [ "$(ovs_get "$1" "$2" status:status)" = connected ]; }
# The domain's persistent definition names this socket in this mode.
domain_source_is() {
    local xml
    # Read whole first: grep -q stopping early would kill virsh with SIGPIPE under pipefail.
    xml=$(on "$1" virsh dumpxml --inactive "$2")
    grep -q "<source type='unix' path='$3' mode='$4'" <<<"$xml"
}
domain_state_is() { [ "$(on "$1" virsh domstate "$2" | head -n 1)" = "$3" ]; }
# stat of a path inside the host: '%U:%G %a %F'.
stat_is() { [ "$(on "$1" stat -c '%U:%G %a %F' "$2")" = "$3" ]; }
sum_of() { on "$1" sha256sum "$2" | cut -d' ' -f1; }
vswitchd_pid() { on "$1" sh -c 'cat /var/run/openvswitch/ovs-vswitchd.pid'; }

# Headless Chromium on a file: the DOM after rendering into $2, a screenshot into $3.
chromium_render() {
    local page=$1 dom=$2 shot=$3 profile
    profile=$(mktemp -d /tmp/nfv-e2e-chromium.XXXXXX)
    local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$profile")
    timeout 120 chromium "${flags[@]}" --dump-dom "file://$page" >"$dom" 2>"$dom.err" &&
        timeout 120 chromium "${flags[@]}" --window-size=1280,2000 --screenshot="$shot" "file://$page" \
            >/dev/null 2>>"$dom.err"
    local rc=$?
    rm -rf "$profile"
    return "$rc"
}

# The command fails (for checks that expect a refusal).
fails() { ! "$@"; }

# HOST has exactly N interfaces of type dpdkvhostuser, every one connected.
legacy_connected() {
    local statuses
    statuses=$(on "$1" ovs-vsctl --timeout=10 --format=csv --no-headings --columns=status find Interface type=dpdkvhostuser)
    [ "$(grep -c . <<<"$statuses")" = "$2" ] && ! grep -qv 'status=connected' <<<"$statuses"
}
# HOST has exactly N interfaces of type dpdkvhostuserclient, every one connected.
client_connected() {
    local statuses
    statuses=$(on "$1" ovs-vsctl --timeout=10 --format=csv --no-headings --columns=status find Interface type=dpdkvhostuserclient)
    [ "$(grep -c . <<<"$statuses")" = "$2" ] && ! grep -qv 'status=connected' <<<"$statuses"
}

# The user:group ovs-vswitchd runs as inside HOST (the pid is read inside, hence the quotes).
# shellcheck disable=SC2016
vswitchd_ids() { on "$1" sh -c 'ps -o user:32=,group:32= -p "$(cat /var/run/openvswitch/ovs-vswitchd.pid)"' | awk '{print $1 ":" $2}'; }
vswitchd_user_is() { [ "$(vswitchd_ids "$1" | cut -d: -f1)" = "$2" ]; }
# A migrated VM: its port dpdkvhostuserclient on the socket directory and connected, its
# definition mode='server' on that socket, the socket QEMU's, in the shared group.
migrated() {
    local h=$1 vm=$2 port=$3 sock=/var/lib/vhost_sockets/$3
    port_type_is "$h" "$port" dpdkvhostuserclient &&
        [ "$(ovs_get "$h" "$port" options:vhost-server-path)" = "$sock" ] &&
        port_connected "$h" "$port" &&
        domain_source_is "$h" "$vm" "$sock" server &&
        stat_is "$h" "$sock" "qemu:hugetlbfs 775 socket"
}
# A VM on the legacy mode: its port dpdkvhostuser and connected, its definition mode='client'
# on Open vSwitch's socket.
legacy() {
    local h=$1 vm=$2 port=$3
    port_type_is "$h" "$port" dpdkvhostuser && port_connected "$h" "$port" &&
        domain_source_is "$h" "$vm" "/var/run/openvswitch/$port" client
}

# --- the guests, reached through their vhost-user ports -------------------------------------
# `connected` only says QEMU and Open vSwitch share the socket; these prove a guest passes
# traffic through it. br-int's internal port (a tap in the host's network namespace) pings the
# guest's IPv6 link-local address, which the guest kernel configures from its MAC (EUI-64) when
# its NIC comes up, and Open vSwitch must have learned that MAC on the VM's own port.

# fe80:: address of a MAC, as the guest derives it (RFC 4291 appendix A).
mac_lladdr() {
    local b
    IFS=: read -ra b <<<"$1"
    printf 'fe80::%x:%x:%x:%x\n' "$(((0x${b[0]} ^ 2) << 8 | 0x${b[1]}))" "$((0x${b[2]} << 8 | 0xff))" \
        "$((0xfe << 8 | 0x${b[3]}))" "$((0x${b[4]} << 8 | 0x${b[5]}))"
}

# HOST VM: "MAC PORT" for each vhost-user interface of the running domain (the OvS port is the
# socket's name, in either mode).
vm_nics() { on "$1" virsh -q domiflist "$2" | awk '$2 == "vhostuser" {n = split($3, p, "/"); print $5, p[n]}'; }

# HOST VM [SECONDS]: each NIC of VM answers ping from br-int within SECONDS (default 60: a guest
# just started may still be bringing its link up), and Open vSwitch learned its MAC on its port.
guest_reachable() {
    local h=$1 vm=$2 seconds=${3:-60} mac port addr ofport fdb_port deadline nics
    nics=$(vm_nics "$h" "$vm")
    [ -n "$nics" ] || { echo "$vm has no vhost-user interface"; return 1; }
    on "$h" ip link set br-int up
    while read -r mac port; do
        addr=$(mac_lladdr "$mac")
        deadline=$((SECONDS + seconds))
        until on "$h" ping -6 -q -n -c 1 -W 2 -I br-int "$addr" >/dev/null 2>&1; do
            ((SECONDS < deadline)) || { echo "$vm ($mac, $addr on $port): no answer from br-int in $seconds s"; return 1; }
            sleep 1
        done
        ofport=$(ovs_get "$h" "$port" ofport)
        fdb_port=$(on "$h" ovs-appctl fdb/show br-int | awk -v m="$mac" '$3 == m {print $1}')
        [ "$fdb_port" = "$ofport" ] ||
            { echo "$vm ($mac): learned on OpenFlow port '$fdb_port', not on $port ($ofport)"; return 1; }
    done <<<"$nics"
}

# HOST N: exactly N domains run and every one's guest is reachable through its ports.
guests_reachable() {
    local h=$1 n=$2 vms vm
    vms=$(on "$h" virsh -q list --name | grep .) || vms=""
    [ "$(grep -c . <<<"$vms")" = "$n" ] || { echo "running domains: $(tr '\n' ' ' <<<"$vms")(expected $n)"; return 1; }
    for vm in $vms; do guest_reachable "$h" "$vm" || return 1; done
}
