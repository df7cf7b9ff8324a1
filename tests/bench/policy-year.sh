#!/bin/bash
# A year of a nightly external-snapshot policy on a real domain (too long
# for scripts/check): `apply --at` for each of 365 simulated days with
# keep-daily = 7, keep-weekly = 4 (at most 11 snapshots), disk-only
# snapshots (memory = false: the prune is what is measured, not the memory
# save). Each day a marker is written to the disk (O_DIRECT) before the
# apply. Checked every day: the chain below the active file has one overlay
# per snapshot kept, never more than the retention keeps. At the end: every
# marker reads back (the merges lost no data), and a revert to the oldest
# kept snapshot has that day's marker and not the next one's.
#   meson test -C build --benchmark policy-year   (or: bash tests/bench/policy-year.sh)
# MOLT_BENCH_DAYS changes the number of days. Prints a summary line per 30
# days and the totals.
set -euo pipefail
source "$(dirname "$0")/../testbed/vm-test.sh"
days=${MOLT_BENCH_DAYS:-365}
policies=$(mktemp -d)
trap 'rm -rf "$policies"; testbed_cleanup' EXIT

testbed_start policy-year --persistent >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
cat >"$policies/nightly.conf" <<CONF
[policy nightly]
domains = $dom
schedule = daily 02:30
memory = false
quiesce = required
snapshot-type = external
keep-daily = 7
keep-weekly = 4
CONF
m policy check --policy-dir "$policies" >/dev/null

# One 512-byte marker per day in a file allocated beforehand (no metadata
# change, no page cache).
guest_run sh -c "dd if=/dev/zero of=/var/lib/molt/markers bs=512 count=$((days + 1)) oflag=direct conv=fsync 2>/dev/null" >/dev/null
mark() { guest_run sh -c "printf day-$1 | dd of=/var/lib/molt/markers bs=512 seek=$1 count=1 conv=notrunc,sync,fsync oflag=direct 2>/dev/null" >/dev/null; }
marked() { guest_run sh -c "dd if=/var/lib/molt/markers bs=512 skip=$1 count=1 iflag=direct 2>/dev/null | tr -d '\\000'"; }

base_length=$(chain_length)
start=$(date +%s)
max_kept=0
for day in $(seq 1 "$days"); do
  at=$(date -u -d "2026-01-01 +$((day - 1)) days" +%Y-%m-%dT03:00:00Z)
  mark "$day"
  out=$(m --json --timeout 60 policy apply --policy-dir "$policies" --at "$at")
  python3 -c 'import json, sys; a = json.load(sys.stdin)["actions"]; sys.exit(0 if a and all(x["status"] == "done" for x in a) else 1)' <<<"$out" \
    || testbed_die "day $day ($at): $out"
  kept=$(policy_snapshots | wc -w)
  [ "$kept" -le 11 ] || testbed_die "day $day: $kept snapshots kept, the retention keeps at most 11"
  [ "$(chain_length)" = $((base_length + kept)) ] \
    || testbed_die "day $day: the chain has $(chain_length) files for $kept snapshots (base $base_length)"
  [ "$kept" -gt "$max_kept" ] && max_kept=$kept
  if [ $((day % 30)) = 0 ] || [ "$day" = "$days" ]; then
    testbed_log "day $day ($at): $kept snapshots kept, chain $(chain_length) files, $(($(date +%s) - start)) s so far"
  fi
done
for day in $(seq 1 "$days"); do
  [ "$(marked "$day")" = "day-$day" ] || testbed_die "day $day's marker reads '$(marked "$day")' after a year of merges"
done
oldest=$(policy_snapshots | awk '{print $1}')
oldest_day=$(( ($(date -u -d "$(sed -E 's/.*-([0-9]{8})T.*/\1/' <<<"$oldest")" +%s) - $(date -u -d 2026-01-01 +%s)) / 86400 + 1 ))
m snapshot revert "$dom" "$oldest" >/dev/null
testbed_wait_agent "$dom" >/dev/null
[ "$(marked "$oldest_day")" = "day-$oldest_day" ] || testbed_die "after the revert to $oldest: day $oldest_day's marker reads '$(marked "$oldest_day")'"
[ -z "$(marked $((oldest_day + 1)))" ] || testbed_die "after the revert to $oldest: day $((oldest_day + 1))'s marker is there"
echo "policy-year: $days days in $(($(date +%s) - start)) s; at most $max_kept snapshots kept, chain at most $((base_length + max_kept)) files (base $base_length); every marker read back; revert to $oldest (day $oldest_day) has its day and not the next"
