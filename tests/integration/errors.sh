#!/bin/bash
# Integration: what the host does when the domain or guest is wrong.
# Unknown domain (exit 2), a domain without the agent channel (the message
# shows the XML to add), a guest whose agent is not running (a clear error
# within the timeout, never a hang), a guest that sends garbage or a reply
# that never ends (a clear error, bounded memory, no crash).
source "$(dirname "$0")/../testbed/vm-test.sh"

# --- unknown domain: no guest needed ---
assert_fails 2 "domain 'molt-no-such-domain' not found" m ping molt-no-such-domain
out=$(m --json info molt-no-such-domain 2>/dev/null || true)
assert_json "$out" error.code domain-not-found
assert_json "$out" error.exit-code 2

# Boot the misbehaving guests together: they are independent.
nochan=$(testbed_start nochan --no-channel)
silent=$(testbed_start silent --cmdline-extra molt.agent=off)
garbage=$(testbed_start garbage --cmdline-extra molt.agent=garbage)
huge=$(testbed_start huge --cmdline-extra molt.agent=oversized)
for dom in "$nochan" "$silent" "$garbage" "$huge"; do
  testbed_wait_console "$dom" "molt-guest: .* up" 180
done

# --- no channel: say what adds it ---
assert_fails 3 "has no molt agent channel: 'molt setup $nochan' adds it" m ping "$nochan"
assert_fails 3 "has no molt agent channel" m info "$nochan"

# --- agent not running: a clear error within the timeout ---
start=$(date +%s)
assert_fails 3 "agent not responding" timeout 60 "$MOLT" -c "$MOLT_TEST_URI" --timeout 3 ping "$silent"
elapsed=$(( $(date +%s) - start ))
# A hang check, not a speed test: 3 s timeout, 60 s before we call it a hang.
[ "$elapsed" -lt 60 ] || testbed_die "molt hung for ${elapsed}s on a silent agent"
out=$(m --json --timeout 2 jobs "$silent" 2>/dev/null || true)
assert_json "$out" error.code agent-unresponsive

# --- garbage from the guest ---
assert_fails 3 "the agent sent garbage" timeout 60 "$MOLT" -c "$MOLT_TEST_URI" --timeout 5 ping "$garbage"
assert_fails 3 "this is not json" timeout 60 "$MOLT" -c "$MOLT_TEST_URI" --timeout 5 info "$garbage"

# --- a reply that never ends: capped, not buffered without bound ---
rss_log=$(mktemp)
set +e
out=$( { /usr/bin/time -f '%M' -o "$rss_log" timeout 60 "$MOLT" -c "$MOLT_TEST_URI" --timeout 20 ping "$huge"; } 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] || testbed_die "oversized reply: exit $rc, expected 3; output: $out"
assert_contains "$out" "exceeds 1048576 bytes"
max_rss_kb=$(tail -n1 "$rss_log")
rm -f "$rss_log"
testbed_log "molt's peak RSS while the guest streamed an endless reply: ${max_rss_kb} KiB"
# The reply cap is 1 MiB: 64 MiB would mean the cap does not hold.
[ "$max_rss_kb" -lt 65536 ] || testbed_die "molt used ${max_rss_kb} KiB on an endless reply"

# --- and the host can still reach a healthy guest afterwards (sanity) ---
echo "errors.sh: all checks passed"
