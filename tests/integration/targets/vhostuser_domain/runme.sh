#!/usr/bin/env bash
# nfv.vhostuser.vhostuser_domain on a sandbox host's real system-mode libvirtd, reached over SSH
# with become as on a fleet: a legacy host with one VM, then domain.yml (check mode, diff, the
# switch, idempotence, restart, every bad input, the way back), then what a person sees with
# --check --diff on the command line. The host is stopped whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
host=$here/../../../sandbox/host
export NFV_SANDBOX_HOSTS=$NFV_TMP/hosts NFV_SANDBOX_INVENTORY=$NFV_TMP/inventory
name=domain

stop_host() { "$host" stop "$name" >&2; }
trap stop_host EXIT
"$host" start "$name" --state legacy --vms 1
"$host" inventory >/dev/null

ansible-playbook -i "$NFV_SANDBOX_INVENTORY" "$here/domain.yml" "$@"

# The playbook ends on the legacy definition again; --check --diff shows the unified diff of the
# persistent definition and changes nothing.
vm=$name-vm1
port=vhu-$name-vm1
before=$("$host" exec "$name" -- virsh -c qemu:///system dumpxml --inactive "$vm")
out=$(ansible-playbook -i "$NFV_SANDBOX_INVENTORY" /dev/stdin --check --diff <<PLAY
- name: Check mode on the command line
  hosts: ComputeOvsDpdk
  gather_facts: false
  become: true
  tasks:
    - name: Switch the domain
      nfv.vhostuser.vhostuser_domain: {name: $vm, mode: server, socket_dir: /var/lib/vhost_sockets}
PLAY
)
for line in "--- before: domain $vm (persistent definition)" \
    "-      <source type='unix' path='/var/run/openvswitch/$port' mode='client'/>" \
    "+      <source type='unix' path='/var/lib/vhost_sockets/$port' mode='server'/>"; do
    if [[ "$out" != *"$line"* ]]; then
        printf 'the --check --diff output lacks %s:\n%s\n' "$line" "$out" >&2
        exit 1
    fi
done
after=$("$host" exec "$name" -- virsh -c qemu:///system dumpxml --inactive "$vm")
[ "$before" = "$after" ] || { echo "--check changed the definition of $vm" >&2; exit 1; }
echo "vhostuser_domain: --check --diff shows the unified diff and defines nothing"
