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
#    apply at a time; memory=false on a running domain is refused;
#  - status with the monitoring plugin exit codes (thresholds from the
#    schedule), the history and the metrics file after each apply; hooks in
#    order around the snapshot, abort/continue, timeout, post after a
#    failed snapshot.
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
testbed_log "quiesce=required without an agent: no snapshot, and why; best-effort: crash-consistent"

# --- status, monitoring, history, metrics and hooks (docs/policies.md) ---
# The nightly policy's snapshots of $dom are still there, the newest taken
# at 2026-03-11T03:00Z; the history holds every apply above.
hooks=$policies/hooks
mkdir -p "$hooks" "$policies/metrics"
cat >"$hooks/pre" <<HOOK
#!/bin/sh
# Records the order, and whether the snapshot already exists (it must not).
echo "pre \$MOLT_DOMAIN \$MOLT_POLICY \$MOLT_SNAPSHOT \$(virsh -q -c $MOLT_TEST_URI snapshot-list $dom --name | grep -c "^\$MOLT_SNAPSHOT\$")" >>"$hooks/log"
[ -e "$hooks/pre-sleeps" ] && sleep 30
[ -e "$hooks/pre-fails" ] && { echo "flush failed: NOAUTH"; exit 3; }
exit 0
HOOK
cat >"$hooks/post" <<HOOK
#!/bin/sh
echo "post \$MOLT_RESULT \$(virsh -q -c $MOLT_TEST_URI snapshot-list $dom --name | grep -c "^\$MOLT_SNAPSHOT\$")" >>"$hooks/log"
HOOK
chmod +x "$hooks/pre" "$hooks/post"
rm -f "$policies"/*.conf
cat >"$policies/nightly.conf" <<CONF
[policy nightly]
domains = $dom
schedule = daily 02:30
memory = true
quiesce = best-effort
keep-daily = 3
metrics-file = $policies/metrics/molt.prom
pre-snapshot = $hooks/pre
post-snapshot = $hooks/post
hook-timeout = 5s
CONF
m policy check --policy-dir "$policies" >/dev/null
status_at() { m --json policy status --policy-dir "$policies" --at "$1" "$dom"; }
monitor_at() { m policy status --monitor --policy-dir "$policies" --at "$1" "$dom"; }

# Thresholds from the schedule (daily: warn after 1d12h, critical after 2d12h),
# as monitoring plugins exit.
out=$(expect_rc 0 monitor_at 2026-03-11T10:00:00Z)
assert_contains "$out" "MOLT POLICY OK - 1 ok, 0 warning, 0 critical, 0 unknown | ok=1"
out=$(expect_rc 1 monitor_at 2026-03-12T16:00:00Z)
assert_contains "$out" "MOLT POLICY WARNING - 0 ok, 1 warning"
assert_contains "$out" "$dom/nightly: newest snapshot 1d13h old (warn-age 1d12h)"
out=$(expect_rc 2 monitor_at 2026-03-14T00:00:00Z)
assert_contains "$out" "MOLT POLICY CRITICAL"
assert_contains "$out" "(crit-age 2d12h)"
out=$(expect_rc 3 m policy status --monitor --policy-dir "$policies" no-such-domain)
assert_contains "$out" "MOLT POLICY UNKNOWN - 0 ok, 0 warning, 0 critical, 1 unknown: no-such-domain/-: no such domain"
out=$(expect_rc 3 "$MOLT" -c "qemu+unix:///system?socket=/nonexistent/libvirt-sock" policy status --monitor --policy-dir "$policies")
assert_contains "$out" "MOLT POLICY UNKNOWN - "
# What status reads from libvirt and from the history of the applies above.
out=$(status_at 2026-03-11T10:00:00Z)
assert_json "$out" statuses.0.state OK
assert_json "$out" statuses.0.newest "$(date -u -d 2026-03-11T03:00:00Z +%s)"
assert_json "$out" statuses.0.kept.daily 3
assert_json "$out" statuses.0.next-due "$(date -u -d 2026-03-12T02:30:00Z +%s)"
assert_json "$out" statuses.0.last-action.status done
assert_json "$out" last-apply.ok true
testbed_log "status: OK, WARNING, CRITICAL and UNKNOWN with the plugin exit codes; newest, kept, next due and last action read back"

# Hooks in order around a snapshot: pre before it exists, post after, with
# the result; the metrics file written and renamed into place.
out=$(apply_at 2026-03-12T03:00:00Z)
assert_json "$out" actions.0.status done
assert_json "$out" actions.0.hooks.0.hook pre-snapshot
assert_json "$out" actions.0.hooks.1.status ok
[ "$(cat "$hooks/log")" = "pre $dom nightly molt-policy-nightly-20260312T030000Z 0
post done 1" ] || testbed_die "hooks: $(cat "$hooks/log")"
prom=$policies/metrics/molt.prom
assert_contains "$(cat "$prom")" "molt_policy_last_success_timestamp_seconds{domain=\"$dom\",policy=\"nightly\"} $(date -u -d 2026-03-12T03:00:00Z +%s)"
assert_contains "$(cat "$prom")" "molt_policy_snapshots_kept{domain=\"$dom\",policy=\"nightly\"} 3"
assert_contains "$(cat "$prom")" "molt_policy_last_run_snapshots_pruned{domain=\"$dom\",policy=\"nightly\"} 1"
assert_contains "$(cat "$prom")" "molt_policy_apply_last_run_success 1"
[ "$(ls "$policies/metrics")" = molt.prom ] || testbed_die "metrics directory: $(ls "$policies/metrics")"

# A failing pre hook with on-failure = abort: no snapshot, the post hook
# still runs (told: aborted), apply exits 1 with a line on stderr, and the
# history, the metrics and status say so.
: >"$hooks/log"
touch "$hooks/pre-fails"
assert_fails 1 "no snapshot taken (on-failure = abort): pre-snapshot hook $hooks/pre exited with status 3: flush failed: NOAUTH" \
  m policy apply --policy-dir "$policies" --at 2026-03-13T03:00:00Z
[ "$(sed -n 2p "$hooks/log")" = "post aborted 0" ] || testbed_die "hooks: $(cat "$hooks/log")"
assert_contains "$(cat "$prom")" "molt_policy_last_run_success{domain=\"$dom\",policy=\"nightly\"} 0"
assert_contains "$(cat "$prom")" "molt_policy_apply_last_run_success 0"
history=$MOLT_STATE_DIR/policy-history.jsonl
assert_contains "$(grep '"action":"create"' "$history" | tail -n 1)" '"status":"failed"'
# ... and the snapshot that failed pruned nothing.
assert_contains "$(grep '"action":"delete"' "$history" | tail -n 1)" "kept: this run's new snapshot"
assert_contains "$(tail -n 1 "$history")" '"failures":1'
out=$(expect_rc 1 monitor_at 2026-03-13T03:05:00Z)
assert_contains "$out" "the last run failed to create: no snapshot taken (on-failure = abort)"
# on-failure = continue: the snapshot is taken, the message says what failed.
echo "on-failure = continue" >>"$policies/nightly.conf"
out=$(apply_at 2026-03-13T03:10:00Z)
assert_json "$out" actions.0.status done
assert_contains "$(json_get actions.0.message <<<"$out")" "exited with status 3: flush failed: NOAUTH (on-failure = continue)"
rm -f "$hooks/pre-fails"
# A pre hook that hangs is killed at hook-timeout.
sed -i 's/on-failure = continue/on-failure = abort/' "$policies/nightly.conf"
touch "$hooks/pre-sleeps"
assert_fails 1 "pre-snapshot hook $hooks/pre did not finish within 5 s (killed)" \
  m policy apply --policy-dir "$policies" --at 2026-03-14T03:00:00Z
rm -f "$hooks/pre-sleeps"
# A snapshot that fails (disk-only of a running domain): the post hook runs,
# told: failed.
: >"$hooks/log"
sed -i 's/memory = true/memory = false/' "$policies/nightly.conf"
assert_fails 1 "set memory=true" m policy apply --policy-dir "$policies" --at 2026-03-14T03:10:00Z
[ "$(sed -n 2p "$hooks/log")" = "post failed 0" ] || testbed_die "hooks: $(cat "$hooks/log")"
testbed_log "hooks: order, abort, continue, timeout, post after a failed snapshot; history and metrics record the failures"
rm -rf "$policies"
echo "policy.sh: all checks passed"
