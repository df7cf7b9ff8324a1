#!/bin/bash
# Integration: the snapshot policy against real libvirt snapshots.
#  - apply --at over simulated days leaves exactly the expected snapshots;
#    apply is idempotent; a missed window is caught up once; a snapshot the
#    user took is never pruned;
#  - a memory snapshot taken by the policy (quiesced) reverts with the
#    managed job alive and counting on;
#  - quiesce=required with the agent stopped takes no snapshot and says why.
source "$(dirname "$0")/../testbed/vm-test.sh"
policies=$(mktemp -d)

testbed_start policy >/dev/null
dom=$TESTBED_DOMAIN
testbed_start policy-silent --cmdline-extra molt.agent=off >/dev/null
silent=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 3

cat >"$policies/nightly.conf" <<CONF
# test policy: one snapshot a day, the last three days kept
[policy nightly]
domains = $dom
schedule = daily 02:30
memory = true
quiesce = required
keep-daily = 3
CONF
m policy check --policy-dir "$policies" >/dev/null

policy_snapshots() {
  m --json snapshot list "$dom" | python3 -c '
import json, sys
print(" ".join(s["name"] for s in json.load(sys.stdin)["snapshots"] if s["name"].startswith("molt-policy-")))'
}
apply_at() { m --json --timeout 30 policy apply --policy-dir "$policies" --at "$1"; }

m snapshot create "$dom" user-keepsake --quiesce off >/dev/null
for day in 01 02 03 04 05; do
  out=$(apply_at "2026-03-${day}T03:00:00Z")
  assert_json "$out" actions.0.action create
  assert_json "$out" actions.0.status done
done
expected="molt-policy-nightly-20260303T030000Z molt-policy-nightly-20260304T030000Z molt-policy-nightly-20260305T030000Z"
[ "$(policy_snapshots)" = "$expected" ] || testbed_die "retained: $(policy_snapshots); expected: $expected"
# Idempotent: the same time again changes nothing.
out=$(apply_at "2026-03-05T03:30:00Z")
assert_json "$out" actions '[]'
# Host off from the 6th to the 9th: one catch-up snapshot, not four.
# What the job wrote before the snapshot that the revert below goes back to.
at_snapshot=$(seq_capture)
out=$(apply_at "2026-03-09T12:00:00Z")
creates=$(python3 -c 'import json,sys; print(sum(a["action"] == "create" for a in json.load(sys.stdin)["actions"]))' <<<"$out")
[ "$creates" = 1 ] || testbed_die "after missed windows: $creates creates, expected 1"
expected="molt-policy-nightly-20260304T030000Z molt-policy-nightly-20260305T030000Z molt-policy-nightly-20260309T120000Z"
[ "$(policy_snapshots)" = "$expected" ] || testbed_die "after catch-up: $(policy_snapshots)"
assert_contains "$(m snapshot list "$dom")" "user-keepsake"
testbed_log "policy apply over simulated days: retained $(policy_snapshots) + user-keepsake"

# --- revert to a policy snapshot: the job is alive and counting on ---
m snapshot revert "$dom" molt-policy-nightly-20260309T120000Z >/dev/null
assert_job_state pipeline running
assert_json "$(m --json info "$dom")" frozen false
wait_sequence_grows "$SEQ_FILE" 5
after=$(seq_capture)
# The same job (its token), going on from the snapshot without a number
# lost or repeated.
check_continuity "$at_snapshot" "$after" 600 >/dev/null
rm -f "$at_snapshot" "$after"
testbed_log "reverted to a quiesced memory snapshot: job running, sequence intact"

# --- quiesce=required and no agent: no snapshot, and why ---
testbed_wait_console "$silent" "molt-guest: .* up" 180
cat >"$policies/nightly.conf" <<CONF
[policy strict]
domains = $silent
schedule = hourly
quiesce = required
keep-last = 2
CONF
set +e
out=$(m --json --timeout 3 policy apply --policy-dir "$policies" --at 2026-03-10T00:30:00Z 2>/dev/null)
rc=$?
set -e
[ "$rc" = 1 ] || testbed_die "apply with an unreachable agent: exit $rc, expected 1"
assert_json "$out" actions.0.status failed
assert_contains "$(json_get actions.0.message <<<"$out")" "cannot quiesce"
[ -z "$(m --json snapshot list "$silent" | json_get snapshots | tr -d '[]')" ] \
  || testbed_die "a snapshot was taken of $silent without quiescing"
rm -rf "$policies"
echo "policy.sh: all checks passed"
