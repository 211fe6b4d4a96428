# The sandbox node's commands: start, stop, status, restart-vswitchd. Its Open vSwitch is
# lib/ovs.sh's, on a private tree under DIR. Sourced by tests/sandbox/node.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are the settings lib/ovs.sh's functions read

node_running() { ovs_running; }

# How lib/ovs.sh runs this node's daemons: everything under DIR, vswitchd in its own network
# namespace (its netdev datapath's taps stay off the machine) with EAL's runtime files in DIR.
ovs_settings() {
    DPDK_PREFIX=nfv$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    # OvS names its control socket after argv[0]: through this link it is ovs-vswitchd.<pid>.ctl.
    VSWITCHD_BIN=$DIR/bin/ovs-vswitchd
    VSWITCHD_ENV=("RUNTIME_DIRECTORY=$DPDK_DIR")
    VSWITCHD_WRAP=(unshare --net --)
    VSWITCHD_OPTS=()
    VSWITCHD_UMASK=022
    # A non-root vswitchd cannot open the machine's /dev/net/tun for br-int's tap; dummy-override
    # turns tap and internal ports into dummies while the DPDK vhost classes stay real.
    [ -z "$OVS_USER" ] || VSWITCHD_OPTS=(--enable-dummy=override)
}

# A failed start leaves nothing running; the logs stay for a look until the next start or stop.
on_start_failed() {
    stop_processes
    rm -f "$ENV_FILE"
    say "nothing left running; logs kept in $LOG_DIR and $PID_DIR ('node stop' removes them)"
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

    ovs_settings
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

# Everything this node started, VMs first: a QEMU still attached while vswitchd exits would
# only log reconnects.
stop_processes() {
    stop_all_vms
    stop_ovs
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
    ovs_settings
    stop_daemon ovs-vswitchd
    start_vswitchd
    wait_dpdk
    # Returns once the new vswitchd has applied the database (ports re-created, their status
    # rewritten), so a caller's wait-until sees this process's status, not the old one's.
    vswitchd_sync
    write_env
    say "ovs-vswitchd restarted in $(since "$t0"): pid $(vswitchd_pid)"
}
