#!/usr/bin/env bash
# The playbook's tasks, then what a person sees with --check --diff on the command line.
set -euo pipefail
ansible-playbook target.yml "$@"

conf=$NFV_TMP/cli.conf
printf '# cli\n#group = "qemu"\n' >"$conf"
out=$(ansible-playbook /dev/stdin --check --diff <<PLAY
- hosts: localhost
  gather_facts: false
  tasks:
    - nfv.vhostuser.qemu_conf: {path: "$conf", group: root}
PLAY
)
expected_diff=$(printf -- '--- before: %s\n+++ after: %s\n@@ -1,2 +1,3 @@\n # cli\n #group = "qemu"\n+group = "root"' "$conf" "$conf")
if [[ "$out" != *"$expected_diff"* ]]; then
    printf 'the --check --diff output lacks the unified diff:\n%s\n' "$out" >&2
    exit 1
fi
[ "$(cat "$conf")" = $'# cli\n#group = "qemu"' ] || { echo "--check wrote $conf" >&2; exit 1; }
echo "qemu_conf: --check --diff shows the unified diff and writes nothing"
