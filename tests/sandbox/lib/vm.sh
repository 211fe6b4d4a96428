# Tiny QEMU guests on vhost-user sockets: vm start/stop/list. Sourced by tests/sandbox/node.
# shellcheck shell=bash

QEMU=${NFV_QEMU:-qemu-system-x86_64}
VM_MEM_MB=${NFV_VM_MEM_MB:-256}

vm_dir() { echo "$VMS_DIR/$1"; }
vm_pid() { read_pid "$(vm_dir "$1")/pid"; }
vm_field() { cat "$(vm_dir "$1")/$2" 2>/dev/null || true; }

valid_vm_name() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad VM name '$1' (letters, digits, . _ -)"
}

# "MAJOR MINOR" of the QEMU binary.
qemu_version() {
    "$QEMU" --version | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -n1
}

# The guest files, copied into the node: the cache may sit in root's home, which a QEMU
# running as another user cannot read.
install_guest() {
    local cache
    [ -s "$GUEST_DIR/vmlinuz" ] && [ -s "$GUEST_DIR/initrd.gz" ] && return 0
    cache=$(guest_ensure)
    mkdir -p "$GUEST_DIR"
    cp "$cache/vmlinuz" "$cache/initrd.gz" "$GUEST_DIR/"
    chmod 0755 "$GUEST_DIR"
    chmod 0644 "$GUEST_DIR/vmlinuz" "$GUEST_DIR/initrd.gz"
}

# The QEMU command line, one argument per line (so the caller can mapfile it).
qemu_args() {
    local name=$1 socket=$2 mode=$3 mac=$4 vmdir major minor chardev device
    vmdir=$(vm_dir "$name")
    read -r major minor < <(qemu_version) || true
    major=${major:-0} minor=${minor:-0}
    # QEMU options escape a comma as two.
    chardev="socket,id=vhu0,path=${socket//,/,,}"
    if [ "$mode" = server ]; then
        # OvS's dpdkvhostuserclient connects to this. wait=off: QEMU must not wait before
        # creating the socket (it still blocks later until the backend connects).
        chardev+=",server=on,wait=off"
    elif ((major > 9 || (major == 9 && minor >= 2))); then
        # Client of OvS's dpdkvhostuser socket; reconnect-ms (QEMU >= 9.2) survives a
        # vswitchd restart, as libvirt's <reconnect> does.
        chardev+=",reconnect-ms=1000"
    else
        chardev+=",reconnect=1"
    fi
    # romfile=: no iPXE, whose DHCP would connect and disconnect the port on its own.
    device="virtio-net-pci,netdev=net0,mac=$mac,romfile="
    # QEMU 7.2 segfaults under TCG when the guest starts an MSI-X vhost-user NIC.
    ((major >= 8)) || device+=",vectors=0"
    printf '%s\n' \
        -name "$name" -machine q35,accel=tcg -cpu max -smp 1 -m "$VM_MEM_MB" \
        -object "memory-backend-memfd,id=mem,size=${VM_MEM_MB}M,share=on" -numa node,memdev=mem \
        -kernel "$GUEST_DIR/vmlinuz" -initrd "$GUEST_DIR/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1" -no-reboot \
        -display none -nodefaults -serial "file:$vmdir/serial.log" -pidfile "$vmdir/pid" \
        -chardev "$chardev" -netdev vhost-user,id=net0,chardev=vhu0 -device "$device"
}

# dev:inode of PATH, empty if absent: tells QEMU's fresh socket from a stale one at the path.
inode_of() { stat -c '%d:%i' -- "$1" 2>/dev/null || true; }

fresh_socket() { [ -S "$1" ] && [ "$(inode_of "$1")" != "$2" ]; }

# QEMU's pid, from its pidfile (written before it blocks on the vhost-user backend).
wait_vm_pid() {
    local name=$1 launcher=$2 pidfile deadline
    pidfile=$(vm_dir "$name")/pid
    deadline=$(($(now_ms) + 10000))
    until [ -n "$(read_pid "$pidfile")" ]; do
        if ! kill -0 "$launcher" 2>/dev/null || (($(now_ms) > deadline)); then
            return 1
        fi
        sleep 0.05
    done
    cp "$pidfile" "$PID_DIR/vm-$name.pid"
}

vm_failed() {
    local name=$1 why=$2 pid
    printf '%s: error: vm %s: %s\n' "$SANDBOX_PROG" "$name" "$why" >&2
    show_tail "$(vm_dir "$name")/qemu.log" 15
    pid=$(vm_pid "$name")
    [ -z "$pid" ] || terminate "$pid" "qemu $name" 5
    rm -rf -- "$(vm_dir "$name")" "$PID_DIR/vm-$name.pid"
    exit 1
}

vm_start() {
    local name="" socket="" mode="" user="" group="" mac="" vmdir before launcher pid
    local priv=() args=()
    name=${1:-}
    [ -n "$name" ] || die "usage: vm start NAME --socket PATH --mode server|client [--user U] [--group G] [--mac MAC]"
    shift
    while (($#)); do
        case $1 in
        --socket) socket=${2:?--socket needs a path}; shift 2 ;;
        --mode) mode=${2:?--mode needs server or client}; shift 2 ;;
        --user) user=${2:?--user needs a user}; shift 2 ;;
        --group) group=${2:?--group needs a group}; shift 2 ;;
        --mac) mac=${2:?--mac needs a MAC}; shift 2 ;;
        *) die "vm start: unknown argument '$1'" ;;
        esac
    done
    valid_vm_name "$name"
    [ -n "$socket" ] || die "vm start: --socket PATH is required"
    [[ $socket == /* ]] || socket=$PWD/$socket
    [[ $mode == server || $mode == client ]] || die "vm start: --mode must be server or client"
    [ -n "$mac" ] || mac=$(mac_for "$name")
    [[ $mac =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || die "bad MAC '$mac'"
    [ -e "$MARKER" ] || die "no node in $DIR: run 'node start' first"
    require_root "vm start"
    require_packages vm
    require_commands "$QEMU" setpriv setsid

    lock_dir
    vmdir=$(vm_dir "$name")
    pid=$(vm_pid "$name")
    if [ -n "$pid" ] && pid_ours "$pid"; then
        if [ "$(vm_field "$name" socket)" != "$socket" ] || [ "$(vm_field "$name" mode)" != "$mode" ]; then
            die "vm $name already runs (pid $pid) on another socket or mode; stop it first"
        fi
        say "vm $name already running (pid $pid, $mode, $socket)"
        return 0
    fi
    rm -rf -- "$vmdir"
    install_guest

    # The socket's directory: made only inside the node; elsewhere it must exist already.
    if [ "$mode" = server ] && [ ! -d "${socket%/*}" ]; then
        [[ $socket == "$DIR/"* ]] || die "directory ${socket%/*} does not exist"
        mkdir -p "${socket%/*}"
    fi
    mkdir -p "$vmdir"
    printf '%s\n' "$mode" >"$vmdir/mode"
    printf '%s\n' "$socket" >"$vmdir/socket"
    printf '%s\n' "${user:-root}:${group:-$(id -gn "${user:-root}")}" >"$vmdir/owner"
    if [ -n "$user" ] || [ -n "$group" ]; then
        [ -z "$user" ] || id -u "$user" >/dev/null 2>&1 || die "no such user: $user"
        [ -n "$group" ] || group=$(id -gn "$user")
        getent group "$group" >/dev/null || die "no such group: $group"
        # As libvirt runs QEMU: its own uid/gid, no supplementary groups.
        priv=(setpriv --regid "$group" --clear-groups)
        [ -z "$user" ] || priv+=(--reuid "$user")
        chown "${user:-root}:$group" "$vmdir"
        setpriv --reuid "${user:-root}" --regid "$group" --clear-groups test -r "$GUEST_DIR/initrd.gz" ||
            die "user ${user:-root} cannot read $GUEST_DIR (is a parent of $DIR closed to it?)"
    fi
    mapfile -t args < <(qemu_args "$name" "$socket" "$mode" "$mac")
    before=$(inode_of "$socket")

    # In the background: QEMU blocks until the vhost-user backend connects. umask 002 as
    # libvirt sets it, so a server socket is group-writable. setsid and the redirections
    # detach it from the caller's terminal and pipes (a $(node vm start) must return).
    (
        umask 002
        exec setsid "${priv[@]}" "$QEMU" "${args[@]}" </dev/null >>"$vmdir/qemu.log" 2>&1 {LOCK_FD}<&-
    ) &
    launcher=$!
    wait_vm_pid "$name" "$launcher" || vm_failed "$name" "QEMU exited at start-up"
    pid=$(vm_pid "$name")
    if [ "$mode" = server ]; then
        wait_for 15 "$pid" fresh_socket "$socket" "$before" ||
            vm_failed "$name" "QEMU did not create its socket $socket"
    else
        [ -S "$socket" ] || say "vm $name: $socket does not exist (yet); QEMU keeps trying to connect every second"
        # Nothing to wait for; only catch a QEMU that dies on its arguments.
        sleep 0.3
        pid_ours "$pid" || vm_failed "$name" "QEMU exited at start-up"
    fi
    say "vm $name: pid $pid, $mode mode, socket $socket, mac $mac, as $(vm_field "$name" owner); serial: $vmdir/serial.log"
}

stop_vm() {
    local name=$1 pid socket
    pid=$(vm_pid "$name")
    [ -n "$pid" ] || pid=$(read_pid "$PID_DIR/vm-$name.pid")
    # SIGTERM: QEMU exits cleanly and removes its own server socket.
    [ -z "$pid" ] || terminate "$pid" "qemu $name" 10
    socket=$(vm_field "$name" socket)
    # After a SIGKILL a stale server socket would stay; removed only inside the node.
    if [ "$(vm_field "$name" mode)" = server ] && [ -S "$socket" ] && [[ $socket == "$DIR/"* ]]; then
        rm -f -- "$socket"
    fi
    rm -rf -- "$(vm_dir "$name")" "$PID_DIR/vm-$name.pid"
}

stop_all_vms() {
    local d
    [ -d "$VMS_DIR" ] || return 0
    for d in "$VMS_DIR"/*/; do
        [ -d "$d" ] || continue
        d=${d%/}
        stop_vm "${d##*/}"
    done
}

vm_stop() {
    local name=${1:-}
    [ -n "$name" ] || die "usage: vm stop NAME"
    valid_vm_name "$name"
    [ -e "$MARKER" ] || die "no node in $DIR"
    lock_dir
    if [ ! -d "$(vm_dir "$name")" ]; then
        say "vm $name is not running"
        return 0
    fi
    stop_vm "$name"
    say "vm $name stopped"
}

# "vm NAME pid STATE MODE SOCKET OWNER" per VM, for list and status.
vm_list_lines() {
    local d name pid state
    [ -d "$VMS_DIR" ] || return 0
    for d in "$VMS_DIR"/*/; do
        [ -d "$d" ] || continue
        d=${d%/}
        name=${d##*/}
        pid=$(vm_pid "$name")
        state=exited
        [ -n "$pid" ] && pid_ours "$pid" && state=running
        printf '  vm %-12s pid %-8s %-8s %-6s %s (as %s)\n' "$name" "${pid:--}" "$state" \
            "$(vm_field "$name" mode)" "$(vm_field "$name" socket)" "$(vm_field "$name" owner)"
    done
}

vm_main() {
    local sub=${1:-}
    shift || true
    case $sub in
    start) vm_start "$@" ;;
    stop) vm_stop "$@" ;;
    list)
        [ -e "$MARKER" ] || die "no node in $DIR"
        vm_list_lines
        ;;
    *) die "usage: vm start|stop|list ..." ;;
    esac
}
