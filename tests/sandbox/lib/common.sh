# Shared helpers for tests/sandbox/node, tests/sandbox/host and the tools inside a sandbox host.
# Sourced, never run.
# shellcheck shell=bash

# The name messages start with; each tool sets its own before sourcing.
SANDBOX_PROG=${SANDBOX_PROG:-node}

say() { printf '%s: %s\n' "$SANDBOX_PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$SANDBOX_PROG" "$*" >&2
    exit 1
}

# Milliseconds since the epoch, from bash's own clock (no date(1) fork per poll).
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# "1.234 s" since a now_ms value: the timings callers and the selftest report.
since() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%03d s' $((ms / 1000)) $((ms % 1000))
}

# Every path of one node, derived from its directory. Exported OVS_* make every ovs-vsctl and
# ovs-appctl this script runs talk to the private daemons, never to /var/run/openvswitch.
# shellcheck disable=SC2034 # the other lib files use these
set_paths() {
    DIR=$1
    DB_DIR=$DIR/db
    RUN_DIR=$DIR/run
    LOG_DIR=$DIR/log
    ETC_DIR=$DIR/etc
    # DPDK's EAL runtime dir: without it EAL creates /var/run/dpdk/<prefix> as root.
    DPDK_DIR=$DIR/dpdk
    PID_DIR=$DIR/pids
    VMS_DIR=$DIR/vms
    # Where QEMU servers put their sockets for dpdkvhostuserclient ports (the sandbox's
    # stand-in for /var/lib/vhost_sockets).
    CLIENT_SOCK_DIR=$DIR/vhost_sockets
    GUEST_DIR=$DIR/guest
    MARKER=$DIR/.nfv-sandbox-node
    ENV_FILE=$DIR/env
    # Every process the node starts names DIR on its command line.
    PID_TAG=$DIR/
    DB_SOCK=$RUN_DIR/db.sock
    DB=unix:$DB_SOCK
    export OVS_RUNDIR=$RUN_DIR OVS_LOGDIR=$LOG_DIR OVS_DBDIR=$DB_DIR OVS_SYSCONFDIR=$ETC_DIR
}

# Bounded ovs-vsctl against this node: a vsctl that waits for a dead vswitchd must not hang.
vsctl() { ovs-vsctl --db="$DB" --timeout=30 "$@"; }

# --- pids -------------------------------------------------------------------------------------

# True while PID runs with PID_TAG (the node's directory, or a daemon's own path inside a
# sandbox host) on its command line. Pids get reused, and no sandbox command may ever signal a
# process it did not start. Callers checking another kind of process set a local PID_TAG.
pid_ours() {
    local pid=$1 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -n "${PID_TAG:-}" ] || return 1
    cmdline=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmdline == *"$PID_TAG"* ]]
}

# The pid recorded in FILE, or nothing.
read_pid() {
    local pid=""
    if [ -r "$1" ]; then read -r pid <"$1" 2>/dev/null || true; fi
    [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
    return 0
}

# Waits up to SECONDS for PID to exit; false if it still runs.
wait_gone() {
    local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
    while pid_ours "$pid"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# TERM, then KILL if TERM did not do it within SECONDS. Only our own pids are signalled.
terminate() {
    local pid=$1 label=$2 grace=${3:-10}
    pid_ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" "$grace" && return 0
    say "$label (pid $pid) ignored SIGTERM for ${grace} s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || die "$label (pid $pid) survived SIGKILL"
}

# Polls CMD every 0.1 s for up to SECONDS. Stops early (false) when the process with pid
# WATCH, if given, is gone: waiting 30 s on a daemon that already died only hides the reason.
wait_for() {
    local seconds=$1 watch=$2 deadline
    shift 2
    deadline=$(($(now_ms) + seconds * 1000))
    until "$@" >/dev/null 2>&1; do
        [ -z "$watch" ] || pid_ours "$watch" || return 1
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# A stable locally administered MAC per name, so a VM keeps its MAC across restarts.
mac_for() {
    local h
    h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
    printf '52:54:00:%02x:%02x:%02x' $(((h >> 16) & 255)) $(((h >> 8) & 255)) $((h & 255))
}

# --- locking and ownership of the directory -----------------------------------------------------

# Serialises commands on one node (two `vm start` at once, a stop during a start). The lock is
# on the directory itself, so nothing is left next to it. Every daemon and QEMU is launched
# with this fd closed ({LOCK_FD}<&-): one that inherited it would hold the lock for its life.
lock_dir() {
    exec {LOCK_FD}<"$DIR"
    flock -w 300 "$LOCK_FD" || die "another node command holds $DIR for more than 300 s"
}

# The directory is ours to wipe only if this command made it (the marker) or it is empty, as
# one from mktemp -d. Anything else might be someone's data.
dir_is_ours() {
    [ -e "$MARKER" ] && return 0
    [ -d "$DIR" ] && [ -z "$(ls -A "$DIR")" ]
}

# --- packages ---------------------------------------------------------------------------------

# DPDK's library ABI suffix (23 for DPDK 22.11 in Debian 12), so the check below names the
# mempool driver package of the DPDK actually installed.
dpdk_abi() {
    local abi
    abi=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' 'librte-eal*' 2>/dev/null |
        sed -n 's/^installed librte-eal\([0-9][0-9.]*\)$/\1/p' | head -n1)
    echo "${abi:-23}"
}

# Debian packages each subcommand needs. librte-mempool-ring is only a Recommends of dpdk, so
# --no-install-recommends skips it, and then every vhost port fails to get a mempool.
packages_for() {
    case $1 in
    start) echo "openvswitch-common openvswitch-switch openvswitch-switch-dpdk librte-mempool-ring$(dpdk_abi) util-linux" ;;
    vm) echo "qemu-system-x86 util-linux" ;;
    guest) echo "cpio gzip apt dpkg" ;;
    host) echo "$(packages_for start) qemu-system-x86 libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu openssh-server openssh-client sudo socat iproute2" ;;
    esac
}

missing_packages() {
    local p
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || echo "$p"
    done
}

# Dies naming every missing package at once. Without dpkg (not Debian) only the commands are
# checked, by the callers.
require_packages() {
    local missing
    command -v dpkg-query >/dev/null || return 0
    # shellcheck disable=SC2046 # the lists are plain words
    mapfile -t missing < <(missing_packages $(packages_for "$1"))
    ((${#missing[@]} == 0)) && return 0
    # The node installs what it needs itself, through the project's one installer.
    local setup
    setup="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/tools/setup"
    if [ "$(id -u)" = 0 ] && [ -x "$setup" ]; then
        say "installing missing packages for '$1' (${missing[*]}) with tools/setup"
        "$setup" >&2 || die "tools/setup failed; the sandbox needs: ${missing[*]}"
        # shellcheck disable=SC2046 # the lists are plain words
        mapfile -t missing < <(missing_packages $(packages_for "$1"))
        ((${#missing[@]} == 0)) && return 0
    fi
    die "missing packages for '$1': ${missing[*]}
  tools/setup installs them; by hand: apt-get install --no-install-recommends ${missing[*]}"
}

require_commands() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || [ -x "$c" ] || die "command not found: $c (tools/setup installs what the sandbox needs)"
    done
}

require_root() {
    [ "$(id -u)" = 0 ] || die "$1 needs root (unshare --net, daemons' --user, setpriv)"
}

# Prints the last lines of a log under a header, for "why did it not start" messages.
show_tail() {
    local file=$1 lines=${2:-25}
    [ -s "$file" ] || return 0
    printf -- '--- last %d lines of %s ---\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '---\n' >&2
}
