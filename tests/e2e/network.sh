#!/bin/bash
# e2e: a job's TCP connection to a host peer survives kexec switches there
# and back. The guest job (molt-test-tcp) and the peer on the host's
# loopback (tcp-peer, reached as 10.0.2.2 through QEMU's user-mode
# network) each send a sequence every 50 ms, so data is in flight both ways
# at the freeze. After each switch: the peer accepted one connection only
# (no reconnect) and saw no gap, repeat, reset or close; the guest's file of
# the peer's numbers goes on from before with one token (the same socket)
# and no number lost or repeated; and the peer's receive rate in the 10 s
# after the switch is at least 0.9x the rate in the 10 s before. The report
# counts the job's sockets; --method reboot over the connection is refused,
# and with --tcp close goes ahead, the job connecting again.
source "$(dirname "$0")/../testbed/vm-test.sh"

[ "$k_old" != "$k_new" ] || testbed_die "the test image has one kernel ($k_old): a switch to itself proves nothing"
TCP_FILE=/var/lib/molt/tcp.txt
peer_dir=$(mktemp -d)
python3 "$testbed_lib/tcp-peer" "$peer_dir/port" "$peer_dir/status" 50 &
peer_pid=$!
stop_peer() { kill "$peer_pid" 2>/dev/null || true; rm -rf "$peer_dir"; }
trap 'stop_peer; testbed_cleanup' EXIT
for _ in $(seq 1 50); do [ -s "$peer_dir/port" ] && break; sleep 0.1; done
port=$(cat "$peer_dir/port")

testbed_start network >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
m exec "$dom" --name tcp -- /usr/lib/molt/molt-test-tcp 10.0.2.2 "$port" "$TCP_FILE" 50 >/dev/null
wait_sequence_grows "$TCP_FILE" 20

peer() { tr ' ' '\n' <"$peer_dir/status" | sed -n "s/^$1=//p"; }
# rates_over SECONDS: numbers per second received over SECONDS, by the
# peer and by the guest job: "PEER GUEST".
rates_over() {
  local p0 p1 g0 g1
  p0=$(peer recv)
  g0=$(guest_lines "$TCP_FILE")
  sleep "$1"
  p1=$(peer recv)
  g1=$(guest_lines "$TCP_FILE")
  echo $(((p1 - p0) / $1)) $(((g1 - g0) / $1))
}
check_peer() {
  [ "$(peer accepts)" = 1 ] || testbed_die "$1: the peer accepted $(peer accepts) connections (a reconnect)"
  [ "$(peer errors)" = 0 ] || testbed_die "$1: the peer saw $(peer errors) errors, last: $(peer last-error)"
}

for target in "$k_new" "$k_old"; do
  read -r rate_before guest_before < <(rates_over 10)
  before=$(mktemp)
  guest_cat "$TCP_FILE" >"$before"
  testbed_log "switching to $target; numbers/s received before: $rate_before by the peer, $guest_before by the guest"
  report=$(m --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$target" \
             --initrd "/boot/initrd.img-$target")
  assert_json "$report" result committed
  assert_json "$report" new-kernel-release "$target"
  # The report says what the job carried over.
  assert_json_is "$report" sockets.0.job '"tcp"'
  assert_json_is "$report" sockets.0.tcp-established 1
  check_peer "right after the switch to $target"
  read -r rate_after guest_after < <(rates_over 10)
  check_peer "10 s after the switch to $target"
  [ $((rate_after * 10)) -ge $((rate_before * 9)) ] \
    || testbed_die "the peer received $rate_after numbers/s after the switch, $rate_before before"
  [ $((guest_after * 10)) -ge $((guest_before * 9)) ] \
    || testbed_die "the guest received $guest_after numbers/s after the switch, $guest_before before"
  assert_job_state tcp running
  after=$(mktemp)
  guest_cat "$TCP_FILE" >"$after"
  continuity=$(check_continuity "$before" "$after" 900)
  rm -f "$before" "$after"
  testbed_log "TCP connection kept across the switch to $target: numbers/s before -> after:" \
    "peer $rate_before -> $rate_after, guest $guest_before -> $guest_after; guest side:" \
    "$continuity (lines, largest gap s); peer: $(cat "$peer_dir/status")"
done
# --method reboot would end the connection with the QEMU process: refused
# at preflight, saying what to do, nothing frozen.
guest=$(testbed_guest_dir)
assert_fails 1 "established TCP connections would be lost: job tcp (1)" \
  m switch "$dom" --method reboot --kernel "$guest/vmlinuz-$k_new" --initrd "$guest/initrd.img-$k_new"
assert_job_state tcp running
check_peer "after the refused reboot switch"
wait_sequence_grows "$TCP_FILE" 5
# --tcp close: the reboot goes ahead; a job that expects it (molt-test-tcp
# reconnect) sees its connection closed, connects again and goes on.
m stop "$dom" tcp >/dev/null
m exec "$dom" --name retry -- /usr/lib/molt/molt-test-tcp 10.0.2.2 "$port" /var/lib/molt/retry.txt 50 \
  reconnect >/dev/null
wait_sequence_grows /var/lib/molt/retry.txt 20
accepts=$(peer accepts)
report=$(m --json --timeout 30 switch "$dom" --method reboot --tcp close \
           --kernel "$guest/vmlinuz-$k_new" --initrd "$guest/initrd.img-$k_new")
assert_json "$report" result committed
assert_json "$report" tcp close
wait_sequence_grows /var/lib/molt/retry.txt 20
assert_job_state retry running
[ "$(peer accepts)" = $((accepts + 1)) ] \
  || testbed_die "--tcp close: the peer accepted $(peer accepts) connections, expected $((accepts + 1))"
testbed_log "--tcp close with --method reboot: the job connected again and goes on"
# The lock is gone with the restore: nothing of molt's or CRIU's is left.
tables=$(guest_run nft list tables)
case "$tables" in *molt-lock*|*CRIU-*) testbed_die "lock tables left in the guest: $tables" ;; esac
echo "network.sh: the TCP connection survived both switches"
