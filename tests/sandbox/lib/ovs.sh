# Open vSwitch with DPDK and no hugepages: start, stop, wait, sync. The one implementation
# behind the sandbox node (its private tree, tests/sandbox/node) and the sandbox host (the
# production paths inside its namespaces, lib/host/hostctl). Sourced, never run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # settings read by the scripts that source this file
#
# The caller sets:
#   DB_DIR RUN_DIR LOG_DIR PID_DIR DB DB_SOCK   where the database, sockets, logs and the
#                                                recorded pids are
#   PID_TAG                                      what the daemons' command lines contain
#   DPDK_PREFIX                                  EAL --file-prefix, unique per node or host
#   OVS_USER                                     USER:GROUP for --user, empty for root
#   VSWITCHD_BIN                                 the DPDK vswitchd, through a name that
#                                                makes its control socket ovs-vswitchd.<pid>.ctl
#   VSWITCHD_ENV (array)    environment for vswitchd (where EAL keeps its runtime files)
#   VSWITCHD_WRAP (array)   a command vswitchd runs under (unshare --net, setpriv), or none
#   VSWITCHD_OPTS (array)   extra vswitchd options
#   VSWITCHD_UMASK          vswitchd's umask (022 as systemd gives; 0002 is TripleO's legacy
#                           workaround, which makes dpdkvhostuser sockets group-writable)
#   on_start_failed         a function that stops what the failed start left running

VSWITCHD_DPDK=${NFV_VSWITCHD_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_SCHEMA=${NFV_OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

# No hugepages on a CI machine: --no-huge needs --legacy-mem, or OvS adds --in-memory and EAL
# refuses the pair. -m 512 with per-port mempools is what ran clean 8 times out of 8.
dpdk_extra() {
    # NFV_DPDK_EXTRA replaces the whole string (a machine with hugepages, or a failure test).
    echo "${NFV_DPDK_EXTRA:---no-huge --legacy-mem --no-pci -m 512 --iova-mode=va --file-prefix=$DPDK_PREFIX --no-telemetry}"
}

ovsdb_pid() { read_pid "$PID_DIR/ovsdb-server.pid"; }
vswitchd_pid() { read_pid "$PID_DIR/ovs-vswitchd.pid"; }

# Daemons keep OvS's default control socket name, <rundir>/<daemon>.<pid>.ctl, so a plain
# `ovs-appctl dpif/show` or `ovs-appctl -t ovsdb-server ...` finds them, as on a real node.
ctl_of() { echo "$RUN_DIR/$1.$2.ctl"; }

ovs_running() {
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

user_opts() {
    [ -z "$OVS_USER" ] || printf '%s\n' --user "$OVS_USER"
}

start_ovsdb() {
    local opts=()
    mapfile -t opts < <(user_opts)
    # --detach returns once the server listens; its early errors go to stderr, kept in a file.
    if ! ovsdb-server "$DB_DIR/conf.db" \
        --remote="punix:$DB_SOCK" --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
        --pidfile="$RUN_DIR/ovsdb-server.pid" --log-file="$LOG_DIR/ovsdb-server.log" \
        --detach --no-chdir "${opts[@]}" </dev/null >>"$PID_DIR/ovsdb-server.stderr" 2>&1 {LOCK_FD}<&-; then
        start_failed "ovsdb-server did not start" "$LOG_DIR/ovsdb-server.log" "$PID_DIR/ovsdb-server.stderr"
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
    local opts=()
    mapfile -t opts < <(user_opts)
    if ! (
        umask "${VSWITCHD_UMASK:-022}"
        exec env "${VSWITCHD_ENV[@]}" "${VSWITCHD_WRAP[@]}" "$VSWITCHD_BIN" "$DB" \
            --pidfile="$RUN_DIR/ovs-vswitchd.pid" --log-file="$LOG_DIR/ovs-vswitchd.log" \
            --detach --no-chdir "${opts[@]}" "${VSWITCHD_OPTS[@]}"
    ) </dev/null >>"$PID_DIR/ovs-vswitchd.stderr" 2>&1 {LOCK_FD}<&-; then
        start_failed "ovs-vswitchd (DPDK) did not start" "$LOG_DIR/ovs-vswitchd.log" "$PID_DIR/ovs-vswitchd.stderr"
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
    start_failed "ovs-vswitchd exited during DPDK initialisation" "$LOG_DIR/ovs-vswitchd.log" "$PID_DIR/ovs-vswitchd.stderr"
}

# Says why, shows the logs that tell, stops whatever did start (the caller's on_start_failed),
# and fails.
start_failed() {
    local why=$1 log first=""
    shift
    printf '%s: error: %s\n' "$SANDBOX_PROG" "$why" >&2
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
    [ -z "$first" ] || printf '%s: first error logged: %s\n' "$SANDBOX_PROG" "${first#*|*|}" >&2
    on_start_failed
    exit 1
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

stop_ovs() {
    stop_daemon ovs-vswitchd
    stop_daemon ovsdb-server
}

# Waits until vswitchd has applied the database as it is now. ovs-vsctl has no "sync": this
# bumps next_cfg, as every writing ovs-vsctl does, and waits for vswitchd's cur_cfg to reach it.
vswitchd_sync() {
    local next
    next=$(($(vsctl get Open_vSwitch . next_cfg) + 1))
    vsctl --no-wait set Open_vSwitch . "next_cfg=$next"
    vsctl wait-until Open_vSwitch . "cur_cfg>=$next"
}
