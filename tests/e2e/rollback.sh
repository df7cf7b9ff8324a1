#!/bin/bash
# e2e: every way a switch can fail ends with the jobs running on the old
# kernel, nothing lost, by the least destructive way back (no snapshot):
#  - a file the job holds open changes, vanishes or is replaced after the
#    checkpoint (test-only fault hook): the check right before the kexec
#    names the file, and the job is thawed in place (layer 1), a unix
#    stream connection between a job's processes still the same one;
#  - the new kernel cannot restore the job (test-only marker): the guest
#    switches back to the old kernel, which restores it (layer 2);
#  - the new kernel cannot boot (an initrd that cannot mount the root):
#    after the boot timeout the domain restarts on the old kernel, whose
#    boot restores the job from its images (layer 3);
#  - the new kernel hangs and the domain cannot be restarted (its disk
#    overlay moved away): the external snapshot is reverted (layer 4);
#  - the orchestrator is SIGKILLed mid-switch: molt rollback undoes it;
#    killed again after the kexec, molt switch --resume finishes it.
# On a UEFI domain only the two ways back through the firmware (restart,
# snapshot revert): see the end.
source "$(dirname "$0")/../testbed/vm-test.sh"

testbed_start rollback >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5

# BEFORE: the sequence file captured before the failed attempt. The same
# job, no number lost or repeated; the gap covers the whole attempt.
assert_rolled_back() {
  local what=$1
  assert_json "$(m --json info "$dom")" kernel-release "$k_old"
  local result
  # An assignment, so that a failed check stops the test (set -e).
  result=$(expect_survived "$BEFORE" 600)
  testbed_log "$what: rolled back, sequence intact ($result)"
}

# --- a file the job holds open changed, vanished or was replaced after the
#     checkpoint (the test-only fault hook): the check before the kexec
#     names the file, and the job, still there, is thawed in place. The
#     change itself stays (molt undoes no one else's writes): a changed
#     file holds the fault's line, a vanished or replaced one no longer is
#     the job's file, so the sequence starts again for what follows ---
thaw_in_place() {
  JUNK="changed behind the job's back"
  # A second job whose numbers cross a unix stream connection between its two
  # processes: thawed in place, it is still the same connection (one token,
  # which holds the socket's inode) with no number lost or repeated.
  SOCK_SEQ=/var/lib/molt/sockpair.seq
  m exec "$dom" --name sockpair -- /usr/lib/molt/molt-test-socketpair "$SOCK_SEQ" 500 >/dev/null
  wait_sequence_grows "$SOCK_SEQ" 3
  SOCK_BEFORE=$(SEQ_FILE=$SOCK_SEQ seq_capture)
  for fault in modify:changed remove:vanished replace:"was replaced"; do
    BEFORE=$(seq_capture)
    set +e
    out=$(MOLT_TEST_FAULT=${fault%%:*}-open-file "$MOLT" -c "$MOLT_TEST_URI" --timeout 30 switch "$dom" \
            --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_new" 2>&1)
    rc=$?
    set -e
    [ "$rc" = 4 ] || testbed_die "${fault%%:*}d file: exit $rc, expected 4 (thawed in place): $out"
    assert_contains "$out" "file $SEQ_FILE, open in the job, ${fault#*:} since the checkpoint"
    assert_contains "$out" "failed at step 'switch'"
    assert_contains "$out" "Thawed in place"
    assert_json "$(m --json info "$dom")" kernel-release "$k_old"
    assert_job_state pipeline running
    if [ "${fault%%:*}" = modify ]; then
      wait_sequence_grows "$SEQ_FILE" 5
      after=$(seq_capture)
      grep -v -x -F "$JUNK" "$after" >"$after.kept"
      result=$(check_continuity "$BEFORE" "$after.kept" 900)
      rm -f "$BEFORE" "$after" "$after.kept"
      testbed_log "file changed: thawed in place, sequence intact apart from the fault's line ($result)"
    else
      rm -f "$BEFORE"
      m stop "$dom" pipeline --grace 0 >/dev/null
      for i in $(seq 1 20); do [ "$(job_field pipeline state)" = exited ] && break; sleep 0.5; done
      start_sequence_job pipeline
      wait_sequence_grows "$SEQ_FILE" 5
      testbed_log "file ${fault#*:}: thawed in place, the job ran on; a new sequence for what follows"
    fi
  done
  assert_job_state sockpair running
  wait_sequence_grows "$SOCK_SEQ" 3
  sock_after=$(SEQ_FILE=$SOCK_SEQ seq_capture)
  result=$(check_continuity "$SOCK_BEFORE" "$sock_after" 900)
  testbed_log "unix socket pair across three thaws in place: the same connection, sequence intact ($result, token $(awk 'END { print $3 }' "$sock_after"))"
  rm -f "$SOCK_BEFORE" "$sock_after"
  m stop "$dom" sockpair --grace 0 >/dev/null
}

# --- the new kernel cannot restore the job (a test-only marker makes its
#     restore fail): the job, never run there, stays in its images; the
#     guest switches back to the old kernel (kexec) and that boot restores
#     it from the same images (rollback layer 2) ---
switched_back() {
  marker="/var/lib/molt/test-fail-restore-on-$k_new"
  guest_run touch "$marker" >/dev/null
  set +e
  out=$("$MOLT" -c "$MOLT_TEST_URI" --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" \
          --initrd "/boot/initrd.img-$k_new" 2>&1)
  rc=$?
  set -e
  guest_run rm -f "$marker" >/dev/null
  [ "$rc" = 4 ] || testbed_die "restore refused by the new kernel: exit $rc, expected 4: $out"
  assert_contains "$out" "test fault: restore refused on $k_new"
  assert_contains "$out" "Rolled back (switched back to the old kernel)"
  assert_rolled_back "restore refused by the new kernel, switched back"
}

# --- the new kernel cannot boot: the old kernel's initrd cannot load the
#     new kernel's virtio modules, so the root disk never appears ---
restarted() {
  set +e
  out=$("$MOLT" -c "$MOLT_TEST_URI" --timeout 30 switch "$dom" --boot-timeout 60 \
          --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_old" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 4 ] || testbed_die "unbootable kernel: exit $rc, expected 4: $out"
  assert_contains "$out" "did not bring the agent back within 60 s"
  assert_contains "$out" "Rolled back (restarted on the old kernel)"
  assert_rolled_back "unbootable kernel"
}

# --- layer 4, the last resort: a snapshot was asked for (--snapshot
#     always: a live external one, taken before the freeze; UEFI domains
#     too) and every other way back is blocked: the new kernel hangs and
#     the disk overlay the guest writes to is moved away, so the restart on
#     the old kernel cannot start the domain. molt reverts the snapshot
#     itself (libvirt 9.0 cannot): memory and disks as before the freeze ---
snapshot_reverted() {
  log=$(mktemp)
  "$MOLT" -c "$MOLT_TEST_URI" --json --timeout 30 switch "$dom" --snapshot always --boot-timeout 30 \
    --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_old" >"$log.json" 2>"$log" &
  pid=$!
  for i in $(seq 1 240); do
    grep -q 'restore: waiting' "$log" && break
    sleep 0.5
  done
  grep -q 'restore: waiting' "$log" || { cat "$log" >&2; testbed_die "the switch never reached the restore step"; }
  overlay=$(ls "$MOLT_TESTBED_ROOT/$dom"/disk.molt-switch-*.qcow2)
  mv "$overlay" "$overlay.away"
  set +e
  wait "$pid"
  rc=$?
  set -e
  [ "$rc" = 4 ] || { cat "$log" >&2; testbed_die "layer 4: exit $rc, expected 4"; }
  assert_contains "$(cat "$log")" "Rolled back (snapshot reverted)"
  assert_json "$(cat "$log.json")" way-back "snapshot reverted"
  rm -f "$overlay.away" "$log" "$log.json"
  left=$(ls "$MOLT_TESTBED_ROOT/$dom" | grep molt-switch || true)
  [ -z "$left" ] || testbed_die "the reverted snapshot left files: $left"
  [ -z "$(virsh_t snapshot-list --name "$dom" | sed '/^$/d')" ] || testbed_die "the reverted snapshot is still listed"
  assert_rolled_back "layer 4: snapshot reverted"
}

log=$(mktemp)
# switch_killed_at_restore INITRD [OPTION...]: start a switch to k_new and
# SIGKILL the orchestrator once it waits for the new kernel (after kexec).
switch_killed_at_restore() {
  local initrd=$1 pid
  shift
  "$MOLT" -c "$MOLT_TEST_URI" --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" \
    --initrd "/boot/initrd.img-$initrd" "$@" >"$log" 2>&1 &
  pid=$!
  for i in $(seq 1 120); do
    grep -q 'restore: waiting' "$log" && break
    sleep 0.5
  done
  grep -q 'restore: waiting' "$log" || { cat "$log" >&2; testbed_die "the switch never reached the restore step"; }
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
}

# --- the orchestrator killed in the middle of the switch ---
killed_then_rollback() {
  switch_killed_at_restore "$k_old" --boot-timeout 120
  # The agent runs the loaded kernel 0.5 s after its reply: a rollback before
  # that finds the old boot and thaws in place (the kexec cancelled; unit test
  # dispatch). Past it, the new kernel hangs and only a restart brings the
  # old one back, which is what this checks.
  sleep 3
  testbed_log "orchestrator killed during the restore step; rolling back from the journal"
  out=$(m --json rollback "$dom" --boot-timeout 30 2>"$log.err") \
    || testbed_die "molt rollback failed: $(cat "$log.err") $out"
  # Nothing answered from the hung new kernel: restarted on the old one.
  assert_json "$out" way-back "restarted on the old kernel"
  rm -f "$log.err"
  assert_rolled_back "killed orchestrator"
  # A second rollback has nothing to do.
  assert_fails 1 "nothing to roll back" m rollback "$dom"
}

# --- killed after the kexec: --resume finishes the switch ---
killed_then_resume() {
  switch_killed_at_restore "$k_new"
  report=$(m --json --timeout 30 switch --resume "$dom")
  assert_json "$report" result committed
  assert_json "$report" resumed-from restore
  assert_json "$report" new-kernel-release "$k_new"
  result=$(expect_survived "$BEFORE" 600)
  testbed_log "killed after the kexec: --resume committed the switch to $k_new, sequence intact ($result)"
}

# Every case on a BIOS domain. On a UEFI one (MOLT_TESTBED_UEFI=1) only the
# cases whose way back goes through the firmware: the restart (OVMF boots
# the old kernel again) and the snapshot revert (the firmware's variables
# kept beside it, libvirt refusing internal snapshots of pflash); the
# others run in the guest's kernels alone (kexec, thaw), which the BIOS run
# and switch-uefi cover, and scripts/check's time is counted.
if [ "${MOLT_TESTBED_UEFI:-0}" = 1 ]; then
  cases="restarted snapshot_reverted"
else
  cases="thaw_in_place switched_back restarted snapshot_reverted killed_then_rollback killed_then_resume"
fi
BEFORE=$(seq_capture)
for case in $cases; do
  "$case"
  rm -f "$BEFORE"
  BEFORE=$(seq_capture)
done
rm -f "$log" "$BEFORE"
echo "rollback.sh: all checks passed"
