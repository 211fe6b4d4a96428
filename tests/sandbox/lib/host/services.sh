# The services of a sandbox host, started the way systemd starts them on a RHEL compute node:
# Open vSwitch (lib/ovs.sh, as /etc/sysconfig/openvswitch's OVS_USER_ID says), virtlogd,
# libvirtd (system mode) and sshd. Runs inside the host, from hostctl. Sourced, never run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are the settings lib/ovs.sh's functions read

STATE_DIR=/run/nfv-sandbox
SERVICE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LIBVIRT_URI=qemu:///system

# Production paths: ovs-vsctl, ovs-appctl and the modules find everything at their defaults.
ovs_paths() {
    DB_DIR=/etc/openvswitch
    RUN_DIR=/var/run/openvswitch
    LOG_DIR=/var/log/openvswitch
    PID_DIR=$STATE_DIR/pids
    DB_SOCK=$RUN_DIR/db.sock
    DB=unix:$DB_SOCK
    PID_TAG=$RUN_DIR/
    DPDK_PREFIX=nfv-$(hostname)
    VSWITCHD_BIN=/usr/sbin/ovs-vswitchd
    # As RHEL's ovs-vswitchd.service sets it.
    VSWITCHD_ENV=("XDG_RUNTIME_DIR=$RUN_DIR")
}

# KEY's value in a systemd EnvironmentFile-like file (the last assignment wins, quotes
# stripped), or nothing.
env_file_value() {
    local file=$1 key=$2
    [ -r "$file" ] || return 0
    sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$key=//p" "$file" | tail -n 1 |
        sed -e 's/^"\(.*\)"[[:space:]]*$/\1/' -e "s/^'\(.*\)'[[:space:]]*\$/\1/"
}

# A [Service] setting of ovs-vswitchd.service as a local override would give it (the unit
# copied to /etc/systemd/system, or a drop-in), or nothing. TripleO's legacy workaround put
# Group=qemu, UMask=0002 and RuntimeDirectoryMode=0775 there.
unit_setting() {
    local key=$1
    local f
    for f in /etc/systemd/system/ovs-vswitchd.service /etc/systemd/system/ovs-vswitchd.service.d/*.conf; do
        [ ! -r "$f" ] || cat "$f"
    done | sed -n "s/^[[:space:]]*$key=//p" | tail -n 1
}

# --- Open vSwitch ------------------------------------------------------------------------------

ovs_start() {
    local user_id group umask rtmode t0
    t0=$(now_ms)
    ovs_paths
    if ovs_running; then
        say "openvswitch already running (ovsdb-server $(ovsdb_pid), ovs-vswitchd $(vswitchd_pid))"
        return 0
    fi
    user_id=$(env_file_value /etc/sysconfig/openvswitch OVS_USER_ID)
    [ -n "$user_id" ] || user_id=root:root
    OVS_USER=$user_id
    [ "${OVS_USER%%:*}" != root ] || OVS_USER=""
    [ -z "$OVS_USER" ] || check_ovs_user "$OVS_USER"
    group=$(unit_setting Group)
    umask=$(unit_setting UMask)
    rtmode=$(unit_setting RuntimeDirectoryMode)
    VSWITCHD_UMASK=${umask:-022}
    VSWITCHD_OPTS=()
    VSWITCHD_WRAP=()
    # Group= of the unit applies to a root vswitchd; --user replaces it otherwise.
    [ -n "$OVS_USER" ] || [ -z "$group" ] || VSWITCHD_WRAP=(setpriv --regid "$group" --clear-groups)
    mkdir -p "$PID_DIR" "$RUN_DIR" "$LOG_DIR"
    # What ovsdb-server.service and ovs-vswitchd.service do before starting (RHEL 7/8 units):
    # only the run and log directories follow OVS_USER_ID; /etc/openvswitch keeps the owner the
    # package (or someone) gave it, so a root-owned conf.db stops a non-root ovsdb-server.
    chown "$user_id" "$RUN_DIR" "$LOG_DIR"
    # systemd gives a unit's RuntimeDirectory its Group= and RuntimeDirectoryMode=.
    [ -n "$OVS_USER" ] || [ -z "$group" ] || chgrp "$group" "$RUN_DIR"
    chmod "${rtmode:-0755}" "$RUN_DIR"
    # ovs-vswitchd.service: chown :${OVS_USER_ID##*:} /dev/hugepages, a no-op when it is unset.
    if [ -n "$OVS_USER" ]; then
        chown ":${OVS_USER#*:}" /dev/hugepages
        chmod 0775 /dev/hugepages
    fi
    rm -f "$PID_DIR"/ovsdb-server.stderr "$PID_DIR"/ovs-vswitchd.stderr
    start_ovsdb
    configure_db
    start_vswitchd
    wait_dpdk
    # Ports of a database that outlived a vswitchd are applied before "started" is said.
    vswitchd_sync
    say "openvswitch started in $(since "$t0") as ${user_id}${group:+ (unit Group=$group)}${umask:+ umask $umask}"
}

ovs_stop() {
    ovs_paths
    stop_ovs
}

# --- libvirt -----------------------------------------------------------------------------------

# Pid of a libvirt daemon from its pidfile in /run, if it runs.
daemon_pid() {
    local name=$1 pid
    pid=$(read_pid "/run/$name.pid")
    local PID_TAG=/usr/sbin/$name
    [ -n "$pid" ] && pid_ours "$pid" && echo "$pid"
    return 0
}

# As systemd runs a unit: a clean environment, umask 022, the daemon's own --daemon.
start_daemon() {
    local name=$1 pid log=$STATE_DIR/$1.stderr
    shift
    pid=$(daemon_pid "$name")
    if [ -n "$pid" ]; then
        say "$name already running (pid $pid)"
        return 0
    fi
    if ! env -i PATH="$SERVICE_PATH" LANG=C.UTF-8 sh -c 'umask 022; exec "$@"' sh "/usr/sbin/$name" "$@" \
        </dev/null >"$log" 2>&1 {LOCK_FD}<&-; then
        show_tail "$log"
        die "$name did not start"
    fi
    local PID_TAG=/usr/sbin/$name
    wait_for 30 "" daemon_pid_ready "$name" || {
        show_tail "$log"
        show_tail "/var/log/libvirt/$name.log"
        die "$name did not write /run/$name.pid within 30 s"
    }
}

daemon_pid_ready() { [ -n "$(daemon_pid "$1")" ]; }

# TERM, then KILL after GRACE seconds, as systemd stops a unit (TimeoutStopSec).
stop_named_daemon() {
    local name=$1 grace=${2:-60} pid
    pid=$(daemon_pid "$name")
    [ -n "$pid" ] || return 0
    local PID_TAG=/usr/sbin/$name
    terminate "$pid" "$name" "$grace"
}

libvirt_answers() { timeout 20 virsh -c "$LIBVIRT_URI" version; }

libvirt_start() {
    local t0
    t0=$(now_ms)
    # virtlogd outlives libvirtd restarts, as its own unit does.
    [ -n "$(daemon_pid virtlogd)" ] || start_daemon virtlogd --daemon
    if [ -n "$(daemon_pid libvirtd)" ]; then
        say "libvirtd already running (pid $(daemon_pid libvirtd))"
        return 0
    fi
    start_daemon libvirtd --daemon
    wait_for 60 "" libvirt_answers || {
        show_tail /var/log/libvirt/libvirtd.log
        die "libvirtd runs but does not answer on $LIBVIRT_URI after 60 s"
    }
    say "libvirtd started in $(since "$t0") (pid $(daemon_pid libvirtd), virtlogd $(daemon_pid virtlogd))"
}

# Like `systemctl restart libvirtd`: virtlogd stays, running QEMUs stay.
libvirt_restart() {
    stop_named_daemon libvirtd 60
    libvirt_start
}

libvirt_stop() {
    stop_named_daemon libvirtd 60
    stop_named_daemon virtlogd 10
}

# --- sshd --------------------------------------------------------------------------------------

sshd_start() {
    local pid
    pid=$(daemon_pid sshd)
    if [ -n "$pid" ]; then
        say "sshd already running (pid $pid)"
        return 0
    fi
    # shellcheck disable=SC2174 # /run exists: the mode is meant for /run/sshd alone
    mkdir -p -m 0755 /run/sshd
    /usr/sbin/sshd -t -f /etc/ssh/sshd_config || die "sshd refuses /etc/ssh/sshd_config"
    env -i PATH="$SERVICE_PATH" LANG=C.UTF-8 /usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/sshd.log \
        </dev/null >"$STATE_DIR/sshd.stderr" 2>&1 {LOCK_FD}<&- || {
        show_tail /var/log/sshd.log
        die "sshd did not start"
    }
    wait_for 10 "" daemon_pid_ready sshd || die "sshd wrote no /run/sshd.pid"
}

sshd_stop() { stop_named_daemon sshd 10; }
