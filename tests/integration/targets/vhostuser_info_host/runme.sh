#!/usr/bin/env bash
# vhostuser_info on a sandbox host (tests/sandbox/host): a compute node on its default paths,
# with a real system-mode libvirtd, reached over SSH with become through the generated
# inventory, and audited with no path option at all.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
host=$(cd "$here/../../../sandbox" && pwd)/host
# This target's own hosts and inventory, in the run's temporary directory.
export NFV_SANDBOX_HOSTS=$NFV_TMP/hosts NFV_SANDBOX_INVENTORY=$NFV_TMP/inventory
name=it-info
trap '"$host" stop "$name" >&2' EXIT
"$host" start "$name" --state client --vms 1
"$host" vm add "$name" legacy1 --state legacy
inventory=$("$host" inventory | tail -n 1)
ansible-playbook -i "$inventory" "$here/host.yml" -e "nfv_host=$name" "$@"
