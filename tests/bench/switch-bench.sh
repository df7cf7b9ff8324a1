#!/bin/bash
# Benchmark: molt switch of a job holding 16, 64 and 256 MiB of touched
# memory, against the floor (the same job dumped and restored by hand with
# the criu CLI plus a bare kexec), in one guest and one run.
#   meson test -C build --benchmark switch   (or: bash tests/bench/switch-bench.sh)
# Downtime is measured by the job itself: the largest gap between its 10 ms
# ticks (molt-bench-hog). Prints a markdown table.
set -euo pipefail
source "$(dirname "$0")/../testbed/testbed.sh"
source "$(dirname "$0")/../testbed/assert.sh"
source "$(dirname "$0")/../testbed/jobs.sh"
export MOLT_GUEST_MEMORY_MIB=${MOLT_GUEST_MEMORY_MIB:-1024}
testbed_init
export MOLT_STATE_DIR=${MOLT_STATE_DIR:-$(mktemp -d)}
m() { "$MOLT" -c "$MOLT_TEST_URI" "$@"; }
read -r -a kernels <"$MOLT_GUEST_DIR/kernels"
sizes=${MOLT_BENCH_SIZES:-16 64 256}

testbed_start bench >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
target=${kernels[1]}

current_kernel() { m --json info "$dom" | json_get kernel-release; }
other_kernel() { [ "$(current_kernel)" = "${kernels[0]}" ] && echo "${kernels[1]}" || echo "${kernels[0]}"; }

# hog_status NAME: "ok ticks=N max_gap_s=X ..." of the hog job NAME.
hog_status() { guest_cat "/var/lib/molt/$1.status"; }
hog_gap() { hog_status "$1" | sed -n 's/.*max_gap_s=\([0-9.]*\).*/\1/p'; }

start_hog() {
  local name=$1 size=$2
  m exec "$dom" --name "$name" -- /usr/lib/molt/molt-bench-hog "$size" "/var/lib/molt/$name.status" >/dev/null
  # Touching the memory takes a while under TCG; wait for the first status.
  for i in $(seq 1 120); do
    hog_status "$name" | grep -q 'ticks=' && return 0
    sleep 1
  done
  testbed_die "hog $name did not start"
}

wait_agent_new_boot() {
  local old_boot=$1 i boot
  for i in $(seq 1 180); do
    boot=$(m --timeout 3 --json info "$dom" 2>/dev/null | json_get boot-id 2>/dev/null || true)
    [ -n "$boot" ] && [ "$boot" != "$old_boot" ] && return 0
    sleep 1
  done
  testbed_die "the guest did not come back after the floor's kexec"
}

results=()
for size in $sizes; do
  # --- molt ---
  name="molt-$size"
  start_hog "$name" "$size"
  sleep 2
  target=$(other_kernel)
  report=$(m --json --timeout 60 switch "$dom" --kernel "/boot/vmlinuz-$target" \
             --initrd "/boot/initrd.img-$target" 2>/dev/null)
  assert_json "$report" result committed
  sleep 2
  molt_gap=$(hog_gap "$name")
  hog_status "$name" | grep -q '^ok' || testbed_die "hog $name memory corrupt after the switch"
  steps=$(python3 -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join("%s=%.2f" % (s["step"], s["seconds"]) for s in r["steps"]))' <<<"$report")
  # Stop it so that the floor run has the guest to itself.
  m stop "$dom" "$name" --grace 0 >/dev/null

  # --- floor ---
  name="floor-$size"
  start_hog "$name" "$size"
  sleep 2
  target=$(other_kernel)
  pid=$(m --json jobs "$dom" | python3 -c '
import json, sys
print([j["pid"] for j in json.load(sys.stdin)["jobs"] if j["name"] == sys.argv[1]][0])' "$name")
  old_boot=$(m --json info "$dom" | json_get boot-id)
  dir=/var/lib/molt/bench-floor-$size
  m exec "$dom" --name "floor-run-$size" --no-pid-namespace -- /usr/lib/molt/bench-floor "$pid" "$dir" \
    "/boot/vmlinuz-$target" "/boot/initrd.img-$target" >/dev/null
  wait_agent_new_boot "$old_boot"
  sleep 3
  ticks1=$(hog_status "$name" | sed -n 's/.*ticks=\([0-9]*\).*/\1/p')
  sleep 2
  ticks2=$(hog_status "$name" | sed -n 's/.*ticks=\([0-9]*\).*/\1/p')
  if [ "${ticks2:-0}" -le "${ticks1:-0}" ]; then
    guest_cat "$dir/restore.log" | grep -E 'Error' | tail -n 5 >&2 || true
    testbed_die "the floor's restore of $name failed (see CRIU's errors above)"
  fi
  floor_gap=$(hog_gap "$name")
  hog_status "$name" | grep -q '^ok' || testbed_die "hog $name memory corrupt after the floor run"
  dump_s=$(guest_cat "$dir/t-dump-end" | head -n1)
  dump_start=$(guest_cat "$dir/t-dump-start" | head -n1)
  rst_start=$(guest_cat "$dir/t-restore-start" | head -n1)
  rst_end=$(guest_cat "$dir/t-restore-end" | head -n1)
  floor_steps=$(python3 -c "print('dump=%.2f restore=%.2f' % ($dump_s - $dump_start, $rst_end - $rst_start))")
  results+=("$size|$molt_gap|$floor_gap|$steps|$floor_steps")
  testbed_log "$size MiB: molt ${molt_gap}s, floor ${floor_gap}s"
done

echo
echo "| job memory | molt downtime | floor downtime | ratio | molt steps (s) | floor steps (s) |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in "${results[@]}"; do
  IFS='|' read -r size mg fg steps fsteps <<<"$r"
  ratio=$(python3 -c "print('%.2f' % ($mg / $fg))")
  echo "| $size MiB | ${mg} s | ${fg} s | ${ratio}x | $steps | $fsteps |"
done
