#!/bin/bash
# Integration: a snapshot policy with external snapshots, on a BIOS domain
# (snapshot-type = external) and, with MOLT_TESTBED_UEFI=1, on a UEFI one
# (snapshot-type = auto, which must pick external: libvirt refuses internal
# snapshots of pflash firmware).
#  - apply --at over simulated days: each day a marker written in the guest,
#    then a quiesced memory snapshot; the retention prunes by merging
#    overlays, so the disk's chain stays one overlay per snapshot kept;
#  - a guest-pre-snapshot command runs in the guest before each freeze
#    (its effect is in the snapshot); one that fails or hangs (killed at
#    hook-timeout) means no snapshot with on-failure = abort, and says why;
#  - revert to the middle snapshot: the managed job goes on from the
#    snapshot (the same job, no number lost or repeated), the disk holds
#    the markers up to that day and none after, the newer snapshots are
#    gone, and the next apply takes and prunes on the reverted chain.
source "$(dirname "$0")/../testbed/vm-test.sh"
policies=$(mktemp -d)
trap 'rm -rf "$policies"; testbed_cleanup' EXIT

testbed_start policy-ext --persistent >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 3

type=external
[ "${MOLT_TESTBED_UEFI:-0}" = 1 ] && type=auto
cat >"$policies/nightly.conf" <<CONF
[policy nightly]
domains = $dom
schedule = daily 02:30
memory = true
quiesce = required
snapshot-type = $type
keep-daily = 3
guest-pre-snapshot = echo "\$MOLT_SNAPSHOT" >>/var/lib/molt/pre-snapshot.log
CONF
m policy check --policy-dir "$policies" >/dev/null

# Day markers written to and read from the disk itself (O_DIRECT into a file
# allocated beforehand: no page cache, no metadata change), so that what a
# revert leaves on the disk is seen, not the restored guest's cache.
guest_run sh -c 'dd if=/dev/zero of=/var/lib/molt/markers bs=4096 count=16 oflag=direct conv=fsync 2>/dev/null' >/dev/null
mark() { guest_run sh -c "printf day-$1 | dd of=/var/lib/molt/markers bs=4096 seek=$1 count=1 conv=notrunc,sync,fsync oflag=direct 2>/dev/null" >/dev/null; }
marked() { guest_run sh -c "dd if=/var/lib/molt/markers bs=4096 skip=$1 count=1 iflag=direct 2>/dev/null | tr -d '\\000'"; }

# The test disk is itself an overlay on the cached image: the chain below
# the snapshots' overlays.
base_length=$(chain_length)
apply_at() { m --json --timeout 30 policy apply --policy-dir "$policies" --at "$1"; }
snap() { echo "molt-policy-nightly-2026030${1}T030000Z"; }

for day in 1 2 3 4 5 6; do
  mark "$day"
  [ "$day" = 5 ] && at_snapshot=$(seq_capture)
  out=$(apply_at "2026-03-0${day}T03:00:00Z")
  assert_json "$out" actions.0.action create
  assert_json "$out" actions.0.status done
  assert_json "$out" actions.0.type external
  if [ "$type" = auto ]; then
    assert_contains "$out" "UEFI firmware is in pflash"
  fi
  kept=$((day < 3 ? day : 3))
  [ "$(chain_length)" = $((base_length + kept)) ] \
    || testbed_die "day $day: the disk's chain has $(chain_length) files, expected $((base_length + kept)) ($kept snapshots kept)"
done
pre_log=$(guest_run cat /var/lib/molt/pre-snapshot.log)
[ "$pre_log" = "$(for d in 1 2 3 4 5 6; do snap "$d"; done)" ] \
  || testbed_die "guest-pre-snapshot ran: $pre_log"
expected="$(snap 4) $(snap 5) $(snap 6)"
[ "$(policy_snapshots)" = "$expected" ] || testbed_die "retained: $(policy_snapshots); expected: $expected"
ls "$(dirname "$(disk_file)")"/*.mem | grep -c . | grep -qx 3 \
  || testbed_die "memory files: $(ls "$(dirname "$(disk_file)")"/*.mem)"
# A UEFI domain's variable store is kept with each snapshot.
if [ "$type" = auto ]; then
  ls "$(dirname "$(disk_file)")"/molt-policy-*.nvram | grep -c . | grep -qx 3 \
    || testbed_die "UEFI variable copies: $(ls "$(dirname "$(disk_file)")")"
fi
testbed_log "external policy over six days: retained $(policy_snapshots), chain $(chain_length) files"

# --- revert to the middle snapshot (day 5): job and disk as they were ---
out=$(m --json snapshot revert "$dom" "$(snap 5)")
assert_contains "$out" "$(snap 6)"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 5
after=$(seq_capture)
check_continuity "$at_snapshot" "$after" 600 >/dev/null
# The guest command ran before the freeze: its line is in the snapshot.
[ "$(guest_run tail -n 1 /var/lib/molt/pre-snapshot.log)" = "$(snap 5)" ] \
  || testbed_die "the reverted guest's pre-snapshot log ends with: $(guest_run tail -n 1 /var/lib/molt/pre-snapshot.log)"
rm -f "$at_snapshot" "$after"
[ "$(marked 5)" = day-5 ] || testbed_die "day 5's marker is not on the reverted disk: '$(marked 5)'"
[ -z "$(marked 6)" ] || testbed_die "day 6's marker is on a disk reverted to day 5: '$(marked 6)'"
[ "$(policy_snapshots)" = "$(snap 4) $(snap 5)" ] || testbed_die "after the revert: $(policy_snapshots)"
[ "$(chain_length)" = $((base_length + 2)) ] || testbed_die "after the revert the chain has $(chain_length) files, expected $((base_length + 2))"
testbed_log "reverted to $(snap 5): job running, sequence intact, day-5 disk, $(snap 6) dropped"

# --- the chain goes on after the revert: take and prune ---
mark 7
apply_at "2026-03-07T03:00:00Z" >/dev/null
mark 8
out=$(apply_at "2026-03-08T03:00:00Z")
python3 -c 'import json, sys; a = json.load(sys.stdin)["actions"]; sys.exit(0 if a and all(x["status"] == "done" for x in a) else 1)' <<<"$out" \
  || testbed_die "apply after the revert: $out"
[ "$(policy_snapshots)" = "$(snap 5) $(snap 7) $(snap 8)" ] || testbed_die "after the revert and two days: $(policy_snapshots)"
[ "$(chain_length)" = $((base_length + 3)) ] || testbed_die "chain $(chain_length) files after two more days, expected $((base_length + 3))"
for day in 5 7 8; do
  [ "$(marked "$day")" = "day-$day" ] || testbed_die "day $day's marker lost after the merges: '$(marked "$day")'"
done
assert_job_state pipeline running
testbed_log "after the revert: $(policy_snapshots), chain $(chain_length) files, markers 5 7 8 on the disk"

# --- a guest command that fails, then one that hangs: no snapshot ---
sed -i 's|^guest-pre-snapshot = .*|guest-pre-snapshot = echo cannot flush; exit 3|' "$policies/nightly.conf"
out=$(expect_rc 1 m --json --timeout 30 policy apply --policy-dir "$policies" --at 2026-03-09T03:00:00Z)
assert_contains "$out" "no snapshot taken (on-failure = abort): guest-pre-snapshot 'echo cannot flush; exit 3' in the guest: it exited with status 3: cannot flush"
[ "$(policy_snapshots)" = "$(snap 5) $(snap 7) $(snap 8)" ] || testbed_die "after a failed guest command: $(policy_snapshots)"
sed -i 's|^guest-pre-snapshot = .*|guest-pre-snapshot = sleep 600\nhook-timeout = 3s|' "$policies/nightly.conf"
out=$(expect_rc 1 m --json --timeout 30 policy apply --policy-dir "$policies" --at 2026-03-09T04:00:00Z)
assert_contains "$out" "guest-pre-snapshot 'sleep 600' in the guest: it did not end within 3 s (killed)"
[ "$(policy_snapshots)" = "$(snap 5) $(snap 7) $(snap 8)" ] || testbed_die "after a hung guest command: $(policy_snapshots)"
assert_job_state pipeline running
assert_json "$(m --json info "$dom")" frozen false
testbed_log "guest-pre-snapshot: ran before each freeze; failing and hung commands refused the snapshot: $(grep -o 'guest-pre-snapshot .sleep[^"]*' <<<"$out" | head -n 1)"

# --- by hand: molt snapshot create --type external (auto on UEFI) ---
out=$(m --json snapshot create "$dom" by-hand --type "$type" --quiesce off)
assert_json "$out" action create
assert_contains "$(virsh_t snapshot-dumpxml "$dom" by-hand)" "snapshot='external'"
[ "$(chain_length)" = $((base_length + 4)) ] || testbed_die "by-hand snapshot: chain $(chain_length) files"
m snapshot delete "$dom" by-hand >/dev/null
assert_not_contains "$(m snapshot list "$dom")" "by-hand"
[ "$(chain_length)" = $((base_length + 3)) ] || testbed_die "by-hand snapshot deleted: chain $(chain_length) files"
testbed_log "snapshot create --type $type: external, deleted again by a merge"
