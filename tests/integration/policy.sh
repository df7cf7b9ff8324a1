#!/bin/bash
# Integration: the snapshot policy against real libvirt snapshots.
#  - apply --at over simulated days leaves exactly the expected snapshots;
#    apply is idempotent; a missed window is caught up once; a snapshot the
#    user took is never pruned;
#  - a memory snapshot taken by the policy (quiesced) reverts with the
#    managed job alive and counting on;
#  - quiesce=required with the agent stopped takes no snapshot and says why;
#    best-effort takes it and says it is crash-consistent;
#  - plan changes nothing; a domain another operation holds is skipped; one
#    apply at a time; memory=false on a running domain is refused.
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

# --- what apply and plan promise (docs/policies.md, Safety) ---
uuid=$(virsh -q -c "$MOLT_TEST_URI" domuuid "$dom")
# plan changes nothing, whatever it plans.
before_plan=$(m --json snapshot list "$dom")
plan=$(m --json policy plan --policy-dir "$policies" --at 2026-03-11T03:00:00Z)
assert_json "$plan" actions.0.action create
[ "$(m --json snapshot list "$dom")" = "$before_plan" ] || testbed_die "policy plan changed the snapshots"
# A domain another operation holds is skipped, and taken next time.
hold_lock "$MOLT_STATE_DIR/locks/$uuid.lock" switch
out=$(apply_at 2026-03-11T03:00:00Z)
assert_json "$out" actions.0.status skipped
assert_contains "$(json_get actions.0.message <<<"$out")" "busy: switch in progress"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
[ "$(m --json snapshot list "$dom")" = "$before_plan" ] || testbed_die "a busy domain was snapshotted"
# Two applies at once: the second stops at once and says why (exit 6).
hold_lock "$MOLT_STATE_DIR/locks/.policy-apply.lock" policy-apply
assert_fails 6 "another policy-apply holds .policy-apply" \
  m policy apply --policy-dir "$policies" --at 2026-03-11T03:00:00Z
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
out=$(apply_at 2026-03-11T03:00:00Z)
assert_json "$out" actions.0.status done
# memory = false cannot snapshot a running domain here (libvirt 9.0 has no
# internal disk-only snapshot of one): the action fails and says what to do.
cat >"$policies/diskonly.conf" <<CONF
[policy diskonly]
domains = $dom
schedule = daily 04:00
memory = false
quiesce = off
keep-last = 1
CONF
# (An assignment, so that a wrong exit code stops the test.)
out=$(expect_rc 1 m --json --timeout 30 policy apply --policy-dir "$policies" --at 2026-03-11T04:30:00Z)
assert_contains "$out" "set memory=true"
rm -f "$policies/diskonly.conf"
testbed_log "plan changes nothing; busy domain skipped; one apply at a time; memory=false refused on a running domain"

# --- quiesce=required and no agent: no snapshot, and why ---
testbed_wait_console "$silent" "molt-guest: .* up" 180
cat >"$policies/nightly.conf" <<CONF
[policy strict]
domains = $silent
schedule = hourly
quiesce = required
keep-last = 2
CONF
out=$(expect_rc 1 m --json --timeout 3 policy apply --policy-dir "$policies" --at 2026-03-10T00:30:00Z)
assert_json "$out" actions.0.status failed
assert_contains "$(json_get actions.0.message <<<"$out")" "cannot quiesce"
[ -z "$(m --json snapshot list "$silent" | json_get snapshots | tr -d '[]')" ] \
  || testbed_die "a snapshot was taken of $silent without quiescing"
# best-effort: the snapshot is taken anyway, and reported as crash-consistent.
sed -i 's/quiesce = required/quiesce = best-effort/' "$policies/nightly.conf"
out=$(m --json --timeout 3 policy apply --policy-dir "$policies" --at 2026-03-10T00:30:00Z 2>/dev/null)
assert_json "$out" actions.0.status done
assert_contains "$(json_get actions.0.message <<<"$out")" "crash-consistent"
rm -rf "$policies"
echo "policy.sh: all checks passed"
