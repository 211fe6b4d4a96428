# shellcheck shell=bash
# The audit: one line per host, the fleet report on the controller, rendered by Chromium, and
# fail_on as a CI gate that still leaves the report behind.
report=$WORK/vhostuser-report

check "e2e-a: before any change, each of its 3 guests answers through its port" guests_reachable e2e-a 3
check "e2e-b: before any change, each of its 3 guests answers through its port" guests_reachable e2e-b 3

check "audit runs on every host" play audit nfv.vhostuser.audit
check "audit changes nothing on the hosts (only the report on the controller)" \
    test "$(grep -cE 'changed: \[e2e-[a-z]+\]' "$OUT/audit.log")" = 0
check "one line per host: e2e-a is legacy and names its legacy VMs" \
    grep -qE '"msg": "legacy, .*legacy VMs: e2e-a-vm1, e2e-a-vm2, nova1 \(1 OpenStack instance' "$OUT/audit.log"
check "one line per host: e2e-b is legacy with three legacy VMs" \
    grep -qE '"msg": "legacy, .*legacy VMs: e2e-b-vm1, e2e-b-vm2, e2e-b-vm3"' "$OUT/audit.log"
check "fleet.json holds every host's full result" \
    jq -e '(.hosts | keys) == ["e2e-a", "e2e-b"] and (.hosts["e2e-a"].pairs | length) == 3
        and (.hosts["e2e-b"].verdict.legacy_ports | length) == 3 and (.not_audited == [])' "$report/fleet.json"
# jq's own $b, not the shell's.
# shellcheck disable=SC2016
check "fleet.json: a problem of three ports is one finding naming the three" \
    jq -e '.hosts["e2e-b"] as $b | [$b.findings[] | select(.id == "legacy_port")]
        | length == 1 and (.[0].subjects | length) == 3 and (.[0].subjects | sort) == ($b.verdict.legacy_ports | sort)' \
    "$report/fleet.json"
# jq's own $u, not the shell's.
# shellcheck disable=SC2016
check "fleet.json names the OpenStack instance by its nova UUID" \
    jq -e --arg u "$NOVA_UUID" '.openstack_instances["e2e-a"].nova1.uuid == $u
        and .openstack_instances["e2e-b"] == {}' "$report/fleet.json"
# shellcheck disable=SC2016
check "vhostuser_info gives each domain its uuid, and nova's metadata for the OpenStack instance only" \
    jq -e --arg u "$NOVA_UUID" '[.hosts[].domains[]] as $d | ($d | length) == 6
        and ($d | map(select(.nova != null)) | map([.name, .uuid, .nova.name, .nova.project])
            == [["nova1", $u, "nova1", "3f2e1d0c9b8a47f6a5e4d3c2b1a09f8e"]])
        and ($d | all(.uuid | test("^[0-9a-f-]{36}$")))' "$report/fleet.json"

dom=$OUT/report.dom.html
shot=$OUT/report.png
check "Chromium renders index.html and takes a screenshot" chromium_render "$report/index.html" "$dom" "$shot"
check "the screenshot is kept (a PNG)" sh -c "file '$shot' | grep -q 'PNG image data'"
check "the report has no script" sh -c "! grep -qi '<script' '$report/index.html'"
check "the rendered page names each host" sh -c "grep -q 'id=\"host-e2e-a\"' '$dom' && grep -q 'id=\"host-e2e-b\"' '$dom'"
every_finding_rendered() {
    local host id subject missing=0
    while IFS=$'\t' read -r host id subject; do
        # Each finding's row: its id and subject, escaped as HTML escapes them, inside the host's section.
        subject=$(printf '%s' "$subject" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
        awk -v h="id=\"host-$host\"" -v id="<code>$id</code>" -v s="<code>$subject</code>" '
            index($0, h) {inside = 1} inside && /<section class="host"/ && !index($0, h) {inside = 0}
            inside && index($0, id) && index($0, s) {found = 1} END {exit !found}' "$dom" ||
            { echo "not rendered: $host $id $subject"; missing=1; }
    done < <(jq -r '.hosts | to_entries[] | .key as $h | .value.findings[] | .id as $id | .subjects[] | [$h, $id, .] | @tsv' "$report/fleet.json")
    return "$missing"
}
check "the rendered page names each finding of each host, in its section" every_finding_rendered
check "the page gives the cold-migration commands for the OpenStack instance" \
    sh -c "grep -q 'openstack server migrate --wait $NOVA_UUID' '$dom' && grep -q 'openstack server resize confirm $NOVA_UUID' '$dom'"

rm -rf "$report"
check "fail_on=error fails the play (a CI gate)" fails play audit-gate nfv.vhostuser.audit -e vhostuser_fail_on=error
check "the gate says which findings tripped it" log_has audit-gate "finding(s) at or above error"
check "the gate fails only after the report is written" test -s "$report/index.html"
