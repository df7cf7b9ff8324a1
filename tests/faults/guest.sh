#!/bin/bash
# faults in the guest and around it, one cell each: a job CRIU cannot dump
# (refused by the preflight), the image store full, the agent SIGKILLed during the checkpoint, a new
# kernel that panics at boot, read-only molt commands in a loop during the
# switch. Every cell must end with the job alive and its sequence complete,
# and say what happened.
source "$(dirname "$0")/../testbed/vm-test.sh"
source "$(dirname "$0")/../testbed/faults.sh"

testbed_start faults >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5

# switch_expecting RC NEEDLE [OPTION...]: a switch to the other kernel that
# must exit RC saying NEEDLE; prints its stderr.
switch_expecting() {
  local rc=$1 needle=$2 out got
  shift 2
  set +e
  out=$("$MOLT" -c "$MOLT_TEST_URI" --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$(other_kernel)" \
          --initrd "/boot/initrd.img-$(other_kernel)" "$@" 2>&1)
  got=$?
  set -e
  [ "$got" = "$rc" ] || testbed_die "switch exited $got, expected $rc: $out"
  assert_contains "$out" "$needle"
  echo "$out"
}

# --- a job CRIU cannot dump: it holds a deleted 2 MiB file open, over
#     CRIU's ghost-file limit. The preflight finds it in /proc and names it
#     before anything is frozen: the other job never stops ---
before=$(seq_capture)
from=$(current_release)
m exec "$dom" --name ghost -- sh -c 'dd if=/dev/zero of=/var/lib/molt/ghost bs=1M count=2 2>/dev/null; exec 3</var/lib/molt/ghost; rm /var/lib/molt/ghost; exec sleep 100000' >/dev/null
sleep 2
out=$(switch_expecting 1 "CRIU cannot checkpoint job ghost: pid ")
assert_contains "$out" "has /var/lib/molt/ghost open (fd 3): 2.0 MiB, deleted since"
assert_contains "$out" "nothing was frozen"
[ "$(current_release)" = "$from" ] || testbed_die "the guest left $from"
assert_job_state ghost running
m stop "$dom" ghost --grace 0 >/dev/null
# Nothing was frozen: no gap in the other job's sequence over its writer's
# own second (an assignment, so that a failed check stops the test).
survived=$(expect_survived "$before" 2)
cell_record preflight "a job CRIU cannot dump" pass \
  "exit 1 before the freeze, the other job never stopped ($survived); $(grep -o 'CRIU cannot checkpoint[^;]*' <<<"$out" | head -n1 | cut -c1-140)"

# --- the image store is full: a 256 KiB filesystem where the images go ---
before=$(seq_capture)
guest_run sh -c 'mkdir -p /var/lib/molt/images && mount -t tmpfs -o size=256k molt-full /var/lib/molt/images' >/dev/null
out=$(switch_expecting 4 "No space left on device")
assert_contains "$out" "Thawed in place"
guest_run umount /var/lib/molt/images >/dev/null
# An assignment, so that a failed check stops the test (set -e).
survived=$(expect_survived "$before")
cell_record checkpoint "image store full" pass \
  "exit 4, thawed in place, the message says \"No space left on device\"; $survived"

# --- the image store full before the checkpoint starts: no room even for
#     the checkpoint's first file; the cause must still be in the message ---
before=$(seq_capture)
guest_run sh -c 'mkdir -p /var/lib/molt/images && mount -t tmpfs -o size=256k molt-full /var/lib/molt/images && { dd if=/dev/zero of=/var/lib/molt/images/filler bs=4k 2>/dev/null; true; }' >/dev/null
out=$(switch_expecting 4 "No space left on device")
assert_contains "$out" "Thawed in place"
guest_run umount /var/lib/molt/images >/dev/null
# An assignment, so that a failed check stops the test (set -e).
survived=$(expect_survived "$before")
cell_record checkpoint "image store full before the checkpoint" pass \
  "exit 4, thawed in place, the message says \"No space left on device\" (the checkpoint's first write: $(grep -o "failed at step 'checkpoint': [^:]*" <<<"$out" | head -n1 | sed "s/.*': //")); $survived"

# --- the agent SIGKILLed in the guest while it dumps: a watcher outside
#     the managed jobs (a managed job would be frozen with the others)
#     kills it as soon as the dump's own images directory appears (not the
#     pre-dump's, JOB.pre, made while the jobs still run) ---
before=$(seq_capture)
killer='while ! ls -d /var/lib/molt/images/*/pipeline >/dev/null 2>&1; do sleep 0.05; done; kill -9 $(pidof molt-agent)'
guest_run sh -c "echo $(base64 -w0 <<<"$killer") | base64 -d >/var/lib/molt/kill-agent.sh" >/dev/null
# Started from a job without its own PID namespace, the watcher is
# re-parented to the guest's init when the job ends.
m exec "$dom" --no-pid-namespace --name spawner -- sh -c 'sh /var/lib/molt/kill-agent.sh </dev/null >/dev/null 2>&1 &' >/dev/null
sleep 1
out=$(switch_expecting 4 "Thawed in place" --checkpoint-timeout 60)
assert_contains "$out" "failed at step 'checkpoint'"
# The watcher is done (it killed the agent once); end it anyway, in case it
# is still waiting, or it kills the agent at the next switch's checkpoint.
# (busybox here has no pkill; the bracket keeps the loop from matching itself)
m exec "$dom" --no-pid-namespace --name unwatch -- sh -c \
  'for p in /proc/[0-9]*; do grep -q "kill-agen[t]" $p/cmdline 2>/dev/null && kill -9 ${p#/proc/}; done; true' >/dev/null
sleep 1
# An assignment, so that a failed check stops the test (set -e).
survived=$(expect_survived "$before")
cell_record checkpoint "agent SIGKILL in the guest" pass \
  "exit 4, thawed in place: $(grep -o "failed at step '[a-z]*': [^.]*" <<<"$out" | head -n1 | cut -c1-100); $survived"

# --- the new kernel panics at boot (no initramfs init, so no root disk):
#     panic=-1 reboots it, and the old direct-boot kernel comes up and
#     restores the jobs; that is not the switch asked for ---
before=$(seq_capture)
from=$(current_release)
out=$(switch_expecting 4 "not the new kernel" --append "root=/dev/vda rw console=ttyS0 panic=-1 rdinit=/nonexistent")
[ "$(current_release)" = "$from" ] || testbed_die "the guest left $from"
# An assignment, so that a failed check stops the test (set -e).
survived=$(expect_survived "$before")
cell_record restore "new kernel panics at boot" pass \
  "exit 4, rolled back: the guest came back on $from, not the new kernel; $survived"

# --- read-only molt commands in a loop during the switch ---
before=$(seq_capture)
target=$(other_kernel)
readers_log=$(mktemp)
( set +e
  while :; do
    "$MOLT" -c "$MOLT_TEST_URI" --timeout 5 jobs "$dom" >/dev/null 2>>"$readers_log"
    echo "rc=$?" >>"$readers_log"
    sleep 0.5
  done ) &
readers=$!
report=$(m --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$target" --initrd "/boot/initrd.img-$target")
kill "$readers" || testbed_die "the reader loop ended early: $(cat "$readers_log")"
wait "$readers" 2>/dev/null || true
assert_json "$report" result committed
busy=$(grep -c '^rc=6$' "$readers_log" || true)
other=$(grep '^rc=' "$readers_log" | grep -vc '^rc=[06]$' || true)
[ "$other" = 0 ] || { cat "$readers_log" >&2; testbed_die "a reader failed otherwise than busy"; }
[ "$busy" -gt 0 ] || testbed_die "no reader was told the domain is busy"
rm -f "$readers_log"
# An assignment, so that a failed check stops the test (set -e).
survived=$(expect_survived "$before")
cell_record "every step" "molt jobs every 0.5 s during the switch" pass \
  "committed to $target; $busy reads answered busy (exit 6), none failed otherwise; $survived"
echo "guest.sh: all cells passed"
