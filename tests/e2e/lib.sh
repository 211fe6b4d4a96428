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
