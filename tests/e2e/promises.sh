#!/bin/bash
# e2e: what the docs promise about a switch, each checked on a real guest:
# --dry-run and a failed preflight change nothing; a job without its own
# PID namespace is refused at preflight; a failing or slow --probe rolls
# back (the job, held stopped on the new kernel for the probe, is switched
# back with the guest and restored on the old one, its sequence whole);
# --snapshot always --keep-snapshot keeps the rollback point and a switch leaves
# none; --snapshot auto takes one before a kernel's first switch only; a second switch of the same domain is refused while one runs; molt
# stop escalates to SIGKILL after the grace period; a rollback that fails
# is reported as such (exit 5, result broken, the cause, the journal kept).
source "$(dirname "$0")/../testbed/vm-test.sh"
source "$(dirname "$0")/../testbed/faults.sh"

testbed_start promises >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5
uuid=$(virsh -q -c "$MOLT_TEST_URI" domuuid "$dom")
snapshots() { virsh -q -c "$MOLT_TEST_URI" snapshot-list --name "$dom" | sed '/^$/d'; }

# nothing_changed WHAT: no snapshot, no journal, the job running, not frozen.
nothing_changed() {
  [ -z "$(snapshots)" ] || testbed_die "$1: a snapshot was left: $(snapshots)"
  [ ! -e "$MOLT_STATE_DIR/journal/$uuid.json" ] || testbed_die "$1: a journal was written"
  assert_job_state pipeline running
  assert_json_is "$(m --json info "$dom")" frozen false
}

# --- --dry-run ---
report=$(m --json switch "$dom" --dry-run --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new")
assert_json "$report" result dry-run
assert_json "$report" expected-kernel-release "$k_new"
nothing_changed "--dry-run"

# --- a failed preflight: a kernel that is not there ---
assert_fails 1 "missing or unreadable in the guest" \
  m switch "$dom" --kernel /boot/vmlinuz-none --initrd "/boot/initrd.img-$k_new"
nothing_changed "a missing kernel"

# --- a job in the guest's own PID namespace cannot be restored: refused ---
m exec "$dom" --no-pid-namespace --name tool -- sleep 100000 >/dev/null
assert_fails 1 "job tool runs in the guest's own PID namespace" \
  m switch "$dom" --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new"
nothing_changed "a job without a namespace"
m stop "$dom" tool --grace 0 >/dev/null

# --- a probe that fails, and one that does not finish: rolled back ---
before=$(seq_capture)
assert_fails 4 "the probe 'exit 3' failed (wait status 768)" \
  m --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new" --probe 'exit 3'
[ "$(current_release)" = "$k_old" ] || testbed_die "a failed probe left the guest on $(current_release)"
assert_fails 4 "did not finish within 2 s" \
  m --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new" \
  --probe 'sleep 60' --probe-timeout 2
[ -z "$(snapshots)" ] || testbed_die "a rollback left its snapshot: $(snapshots)"
survived=$(expect_survived "$before")
testbed_log "failing and slow probes rolled back: $survived"

# --- --snapshot auto: a snapshot before a kernel's first committed switch
#     on the domain only (what it would do, said by --dry-run) ---
auto_decision() {
  m --json switch "$dom" --dry-run --snapshot auto --kernel "/boot/vmlinuz-$1" \
    --initrd "/boot/initrd.img-$1" | json_get snapshot-auto
}
case "$(auto_decision "$k_new")" in
  "taken: kernel $k_new has not committed a switch on this domain yet") ;;
  *) testbed_die "--snapshot auto before $k_new's first switch: $(auto_decision "$k_new")" ;;
esac

# --- one switch at a time: a second one is refused, not queued ---
log=$(mktemp)
switch_in_background "$log" "$k_new" --snapshot always --keep-snapshot
wait_for_step "$log" freeze
assert_fails 6 "busy: switch in progress" \
  m switch "$dom" --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new"
assert_fails 6 "busy: switch in progress" m rollback "$uuid"
wait "$SWITCH_PID" || { cat "$log" >&2; testbed_die "the first switch failed"; }
assert_json "$(cat "$log.json")" result committed
rm -f "$log" "$log.json"

# --- --keep-snapshot kept the rollback point; a plain switch leaves none ---
kept=$(snapshots)
case "$kept" in molt-switch-*) ;; *) testbed_die "--keep-snapshot: snapshots are '$kept'" ;; esac
m snapshot delete "$dom" "$kept" >/dev/null
report=$(m --json --timeout 30 switch "$dom" --snapshot auto --kernel "/boot/vmlinuz-$k_old" \
  --initrd "/boot/initrd.img-$k_old")
# k_old never committed a switch here (the domain booted it): auto took one.
case "$(json_get snapshot <<<"$report")" in
  molt-switch-*) ;;
  *) testbed_die "--snapshot auto took no snapshot before $k_old's first switch: $report" ;;
esac
[ -z "$(snapshots)" ] || testbed_die "a committed switch left its snapshot: $(snapshots)"
case "$(auto_decision "$k_new")" in
  "skipped: kernel $k_new already committed a switch on this domain") ;;
  *) testbed_die "--snapshot auto after $k_new committed: $(auto_decision "$k_new")" ;;
esac
testbed_log "--snapshot auto: taken before a kernel's first switch, skipped after"

# --- molt stop: SIGTERM, then SIGKILL after the grace period ---
m exec "$dom" --name stubborn -- sh -c 'trap "" TERM; while :; do sleep 1; done' >/dev/null
sleep 1
m stop "$dom" stubborn --grace 2 >/dev/null
for i in $(seq 1 40); do [ "$(job_field stubborn state)" = exited ] && break; sleep 0.5; done
assert_job_state stubborn exited
# Killed by SIGKILL (wait status 9, or 137 from a launcher that reports
# its child's signal as an exit code), not ended by the SIGTERM it ignores.
status=$(job_field stubborn exit-status)
python3 -c 'import sys; s = int(sys.argv[1]); sys.exit(0 if s & 0x7f == 9 or s >> 8 == 137 else 1)' "$status" \
  || testbed_die "stubborn ended with wait status $status, not SIGKILL"
assert_job_state pipeline running

# --- last, as it breaks the guest: when the rollback itself fails, molt
#     says so (exit 5, result broken) and keeps the journal for a retry.
#     The domain's disk is moved away behind its back while the new kernel
#     (with an initrd that cannot mount its root) hangs, so the restart on
#     the old kernel cannot start it ---
log=$(mktemp)
# The unbootable combination: the new kernel with the old initrd.
"$MOLT" -c "$MOLT_TEST_URI" --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" \
  --initrd "/boot/initrd.img-$k_old" --boot-timeout 30 >"$log.json" 2>"$log" &
SWITCH_PID=$!
wait_for_step "$log" restore
disk="$MOLT_TESTBED_ROOT/$dom/disk.qcow2"
mv "$disk" "$disk.away"
set +e
wait "$SWITCH_PID"
rc=$?
set -e
[ "$rc" = 5 ] || { cat "$log" >&2; testbed_die "a failed rollback: exit $rc, expected 5"; }
assert_json "$(cat "$log.json")" result broken
assert_contains "$(cat "$log")" "The rollback failed too"
assert_contains "$(cat "$log")" "'molt rollback $dom' retries"
assert_contains "$(cat "$log")" "No such file or directory"
mv "$disk.away" "$disk"
assert_json "$(python3 -c 'import json,sys; print(json.dumps({"state": json.load(open(sys.argv[1]))["state"]}))' \
  "$MOLT_STATE_DIR/journal/$uuid.json")" state failed
rm -f "$log" "$log.json"
echo "promises.sh: all checks passed"
