# The node's Open vSwitch: start, stop, status. Sourced by tests/sandbox/node.
# shellcheck shell=bash

VSWITCHD_DPDK=${NFV_VSWITCHD_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_SCHEMA=${NFV_OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

# No hugepages on a CI machine: --no-huge needs --legacy-mem, or OvS adds --in-memory and EAL
# refuses the pair. -m 512 with per-port mempools is what ran clean 8 times out of 8.
dpdk_extra() {
    local prefix
    # A prefix per directory, so two nodes on one machine never share EAL files.
    prefix=nfv$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    # NFV_DPDK_EXTRA replaces the whole string (a machine with hugepages, or a failure test).
    echo "${NFV_DPDK_EXTRA:---no-huge --legacy-mem --no-pci -m 512 --iova-mode=va --file-prefix=$prefix --no-telemetry}"
}

ovsdb_pid() { read_pid "$PID_DIR/ovsdb-server.pid"; }
vswitchd_pid() { read_pid "$PID_DIR/ovs-vswitchd.pid"; }

# Daemons keep OvS's default control socket name, <rundir>/<daemon>.<pid>.ctl, so a plain
# `ovs-appctl dpif/show` or `ovs-appctl -t ovsdb-server ...` finds them through OVS_RUNDIR, as
# on a real node.
ctl_of() { echo "$RUN_DIR/$1.$2.ctl"; }

node_running() {
    local db vs
    db=$(ovsdb_pid)
    vs=$(vswitchd_pid)
    [ -n "$db" ] && [ -n "$vs" ] && pid_ours "$db" && pid_ours "$vs"
}

# Checks USER:GROUP the way OvS will, but before anything starts and with a clearer message:
# OvS refuses --user u:g unless u is a member of g (primary or supplementary).
check_ovs_user() {
    local spec=$1 user group
    [[ $spec == ?*:?* ]] || die "--user wants USER:GROUP, got '$spec'"
    user=${spec%%:*}
    group=${spec#*:}
    id -u "$user" >/dev/null 2>&1 || die "no such user: $user"
    getent group "$group" >/dev/null || die "no such group: $group"
    id -nG "$user" | tr ' ' '\n' | grep -qx -- "$group" ||
        die "user $user is not a member of group $group; OvS refuses --user $spec (add $user to $group, e.g. usermod -aG $group $user)"
}

make_tree() {
    mkdir -p "$DIR"
    # mktemp -d makes 0700 directories; QEMU and the daemons may run as other users below it.
    chmod 0755 "$DIR"
    touch "$MARKER"
    # restart-vswitchd starts it again as the same user.
    printf '%s\n' "$OVS_USER" >"$DIR/ovs-user"
    mkdir -p "$DB_DIR" "$RUN_DIR" "$LOG_DIR" "$ETC_DIR/openvswitch" "$DPDK_DIR" "$PID_DIR" "$VMS_DIR" "$CLIENT_SOCK_DIR"
    # OvS names its control socket after argv[0]: through this link it is ovs-vswitchd.<pid>.ctl,
    # as with /usr/sbin/ovs-vswitchd on a real node, so a plain `ovs-appctl` finds it.
    mkdir -p "$DIR/bin"
    ln -sfn "$VSWITCHD_DPDK" "$DIR/bin/ovs-vswitchd"
    # Like /var/lib/vhost_sockets: group-writable, so a QEMU of the OvS group can put sockets in it.
    chmod 0775 "$CLIENT_SOCK_DIR"
    ovsdb-tool create "$DB_DIR/conf.db" "$OVS_SCHEMA"
    # Non-root daemons: ovsdb-server cannot lock a root-owned conf.db, and vswitchd must write
    # its log, pidfile, sockets and the EAL runtime dir.
    if [ -n "$OVS_USER" ]; then
        # A parent closed to the user (/root is 0700) would fail later, in a daemon's log.
        setpriv --reuid "${OVS_USER%%:*}" --regid "${OVS_USER#*:}" --clear-groups test -x "$DIR" ||
            die "user ${OVS_USER%%:*} cannot reach $DIR (a parent directory is closed to it); use a directory under /tmp"
        chown -R "$OVS_USER" "$DB_DIR" "$RUN_DIR" "$LOG_DIR" "$ETC_DIR" "$DPDK_DIR" "$CLIENT_SOCK_DIR"
    fi
}

start_ovsdb() {
    local user_opt=()
    [ -z "$OVS_USER" ] || user_opt=(--user "$OVS_USER")
    # --detach returns once the server listens; its early errors go to stderr, kept in a file.
    if ! ovsdb-server "$DB_DIR/conf.db" \
        --remote="punix:$DB_SOCK" --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
        --pidfile="$RUN_DIR/ovsdb-server.pid" --log-file="$LOG_DIR/ovsdb-server.log" \
        --detach --no-chdir "${user_opt[@]}" </dev/null >>"$LOG_DIR/ovsdb-server.stderr" 2>&1 {LOCK_FD}<&-; then
        start_failed "ovsdb-server did not start" "$LOG_DIR/ovsdb-server.log" "$LOG_DIR/ovsdb-server.stderr"
    fi
    cp "$RUN_DIR/ovsdb-server.pid" "$PID_DIR/ovsdb-server.pid"
}

# What vswitchd reads at start-up (dpdk-init cannot change later). ovs_version/db_version are
# what ovs-ctl would fill in on a real node.
configure_db() {
    local version
    version=$(ovs-vsctl --version | awk '/Open vSwitch/ {print $NF; exit}')
    vsctl --no-wait init
    vsctl --no-wait set Open_vSwitch . \
        "ovs_version=\"$version\"" \
        "db_version=\"$(ovsdb-tool schema-version "$OVS_SCHEMA")\"" \
        other_config:dpdk-init=true \
        "other_config:dpdk-extra=\"$(dpdk_extra)\"" \
        other_config:per-port-memory=true \
        other_config:pmd-maxsleep=10000
}

start_vswitchd() {
    local extra=()
    # A non-root vswitchd cannot open /dev/net/tun for br-int's tap; dummy-override turns tap
    # and internal ports into dummies while the DPDK vhost classes stay real.
    [ -z "$OVS_USER" ] || extra=(--user "$OVS_USER" --enable-dummy=override)
    # unshare --net: the netdev datapath's br-int/ovs-netdev taps stay out of the host's netns.
    # RUNTIME_DIRECTORY keeps EAL out of /var/run/dpdk.
    if ! RUNTIME_DIRECTORY=$DPDK_DIR unshare --net -- "$DIR/bin/ovs-vswitchd" "$DB" \
        --pidfile="$RUN_DIR/ovs-vswitchd.pid" --log-file="$LOG_DIR/ovs-vswitchd.log" \
        --detach --no-chdir "${extra[@]}" </dev/null >>"$LOG_DIR/ovs-vswitchd.stderr" 2>&1 {LOCK_FD}<&-; then
        start_failed "ovs-vswitchd (DPDK) did not start" "$LOG_DIR/ovs-vswitchd.log" "$LOG_DIR/ovs-vswitchd.stderr"
    fi
    cp "$RUN_DIR/ovs-vswitchd.pid" "$PID_DIR/ovs-vswitchd.pid"
}

dpdk_ready() {
    [ "$(vsctl get Open_vSwitch . dpdk_initialized)" = true ] &&
        vsctl get Open_vSwitch . iface_types | tr -d '[],' | tr ' ' '\n' | grep -qx dpdkvhostuserclient
}

wait_dpdk() {
    wait_for 30 "$(vswitchd_pid)" dpdk_ready && return 0
    if pid_ours "$(vswitchd_pid)"; then
        start_failed "ovs-vswitchd runs but DPDK is not initialised or has no dpdkvhostuserclient type after 30 s" "$LOG_DIR/ovs-vswitchd.log"
    fi
    start_failed "ovs-vswitchd exited during DPDK initialisation" "$LOG_DIR/ovs-vswitchd.log" "$LOG_DIR/ovs-vswitchd.stderr"
}

# Shell-sourceable settings for callers: `. DIR/env` then plain ovs-vsctl/ovs-appctl work.
write_env() {
    local vs db
    vs=$(vswitchd_pid)
    db=$(ovsdb_pid)
    {
        echo "# tests/sandbox/node: source this file to use the node at $DIR"
        printf 'export %s=%q\n' \
            NFV_SANDBOX "$DIR" \
            NFV_OVSDB "$DB" \
            NFV_OVS_USER "${OVS_USER:-root:root}" \
            NFV_VHOST_SERVER_DIR "$RUN_DIR" \
            NFV_VHOST_CLIENT_DIR "$CLIENT_SOCK_DIR" \
            NFV_OVSDB_PID "$db" \
            NFV_VSWITCHD_PID "$vs" \
            NFV_OVSDB_CTL "$(ctl_of ovsdb-server "$db")" \
            NFV_VSWITCHD_CTL "$(ctl_of ovs-vswitchd "$vs")" \
            OVS_RUNDIR "$RUN_DIR" \
            OVS_LOGDIR "$LOG_DIR" \
            OVS_DBDIR "$DB_DIR" \
            OVS_SYSCONFDIR "$ETC_DIR"
    } >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Says why, shows the logs that tell, stops whatever did start, and fails. The logs stay for a
# look; the next start or stop removes them.
start_failed() {
    local why=$1 log first=""
    shift
    printf 'node: error: %s\n' "$why" >&2
    for log in "$@"; do
        if [[ $log == *.stderr ]]; then
            # Errors from before the log file opens; EAL's indented usage text is left out.
            if [ -s "$log" ]; then
                printf -- '--- %s ---\n' "$log" >&2
                grep -v '^[[:space:]]' "$log" | tail -n 8 >&2 || true
            fi
        else
            show_tail "$log"
            [ -n "$first" ] || first=$(grep -m1 -E '\|(EMER|ERR)\|' "$log" 2>/dev/null || true)
        fi
    done
    [ -z "$first" ] || printf 'node: first error logged: %s\n' "${first#*|*|}" >&2
    stop_processes
    rm -f "$ENV_FILE"
    say "nothing left running; logs kept in $LOG_DIR ('node stop' removes them)"
    exit 1
}

node_start() {
    local t0
    t0=$(now_ms)
    OVS_USER=""
    while (($#)); do
        case $1 in
        --user) OVS_USER=${2:?--user needs USER:GROUP}; shift 2 ;;
        --user=*) OVS_USER=${1#*=}; shift ;;
        *) die "start: unknown argument '$1'" ;;
        esac
    done
    [ "$OVS_USER" != root:root ] || OVS_USER=""
    require_root start
    require_packages start
    require_commands ovsdb-server ovsdb-tool ovs-vsctl ovs-appctl unshare flock "$VSWITCHD_DPDK"
    [ -r "$OVS_SCHEMA" ] || die "no OvS schema at $OVS_SCHEMA"
    [ -z "$OVS_USER" ] || check_ovs_user "$OVS_USER"

    mkdir -p "$DIR"
    lock_dir
    if node_running; then
        say "already running in $DIR (ovsdb-server $(ovsdb_pid), ovs-vswitchd $(vswitchd_pid)); env: $ENV_FILE"
        return 0
    fi
    dir_is_ours || die "$DIR exists, is not empty and was not made by this command; refusing to use it"
    if [ -e "$MARKER" ]; then
        say "stale state in $DIR (daemons not running); cleaning up and starting fresh"
        stop_processes
        # Empty it in place: the lock is held on this very directory.
        find "$DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
    fi

    make_tree
    start_ovsdb
    configure_db
    start_vswitchd
    wait_dpdk
    write_env
    say "started in $(since "$t0"): ovsdb-server $(ovsdb_pid), ovs-vswitchd $(vswitchd_pid) (DPDK, user ${OVS_USER:-root})"
    say "db: $DB"
    say "env: . $ENV_FILE"
}

# Stops one OvS daemon: a clean `exit` first (vswitchd then removes its vhost sockets), its
# recorded pid after that.
stop_daemon() {
    local name=$1 pid
    pid=$(read_pid "$PID_DIR/$name.pid")
    [ -n "$pid" ] || return 0
    if pid_ours "$pid"; then
        if ovs-appctl --timeout=10 -t "$(ctl_of "$name" "$pid")" exit >/dev/null 2>&1; then
            wait_gone "$pid" 10 || terminate "$pid" "$name" 5
        else
            terminate "$pid" "$name" 10
        fi
    fi
    rm -f "$PID_DIR/$name.pid"
}

# Everything this node started, VMs first: a QEMU still attached while vswitchd exits would
# only log reconnects.
stop_processes() {
    stop_all_vms
    stop_daemon ovs-vswitchd
    stop_daemon ovsdb-server
}

wipe_dir() {
    [ -e "$MARKER" ] || return 0
    rm -rf -- "$DIR"
}

node_stop() {
    (($# == 0)) || die "stop takes no arguments"
    if [ ! -d "$DIR" ]; then
        say "nothing to stop in $DIR"
        return 0
    fi
    if [ ! -e "$MARKER" ]; then
        dir_is_ours || die "$DIR was not made by this command; leaving it alone"
        say "nothing to stop in $DIR"
        return 0
    fi
    lock_dir
    stop_processes
    wipe_dir
    say "stopped; removed $DIR"
}

# One line per process. Exit 0 if the node runs, 3 (as LSB status does) if not.
node_status() {
    (($# == 0)) || die "status takes no arguments"
    local name pid state rc=0
    if [ ! -e "$MARKER" ]; then
        echo "node $DIR: not running"
        return 3
    fi
    echo "node $DIR"
    for name in ovsdb-server ovs-vswitchd; do
        pid=$(read_pid "$PID_DIR/$name.pid")
        state=stopped
        [ -n "$pid" ] && pid_ours "$pid" && state=running
        [ $state = running ] || rc=3
        printf '  %-13s pid %-8s %s\n' "$name" "${pid:--}" "$state"
    done
    echo "  db            $DB"
    if [ $rc = 0 ]; then
        echo "  dpdk          initialized=$(vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null || echo '?')"
        echo "  env           $ENV_FILE"
    fi
    vm_list_lines
    return $rc
}

# Waits until vswitchd has applied the database as it is now. ovs-vsctl has no "sync": this
# bumps next_cfg, as every writing ovs-vsctl does, and waits for vswitchd's cur_cfg to reach it.
vswitchd_sync() {
    local next
    next=$(($(vsctl get Open_vSwitch . next_cfg) + 1))
    vsctl --no-wait set Open_vSwitch . "next_cfg=$next"
    vsctl wait-until Open_vSwitch . "cur_cfg>=$next"
}

# Restarts only ovs-vswitchd (same user, same database), as an OvS upgrade or crash recovery
# would: the test of which vhost-user mode survives it. VMs keep running.
node_restart_vswitchd() {
    (($# == 0)) || die "restart-vswitchd takes no arguments"
    local t0
    t0=$(now_ms)
    require_root restart-vswitchd
    [ -e "$MARKER" ] || die "no node in $DIR: run 'node start' first"
    lock_dir
    node_running || die "the node in $DIR is not running; 'node start' starts it"
    OVS_USER=$(cat "$DIR/ovs-user")
    stop_daemon ovs-vswitchd
    start_vswitchd
    wait_dpdk
    # Returns once the new vswitchd has applied the database (ports re-created, their status
    # rewritten), so a caller's wait-until sees this process's status, not the old one's.
    vswitchd_sync
    write_env
    say "ovs-vswitchd restarted in $(since "$t0"): pid $(vswitchd_pid)"
}
