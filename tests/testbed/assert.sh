# Small assertions for the bash tests; a failure names what was expected.

# json_get PATH: reads JSON on stdin, prints the value at PATH, a dotted
# list of keys and array indices ("jobs.0.ns-pid"); booleans as true/false.
json_get() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else value)
' "$1"
}

assert_json() {
  local json=$1 filter=$2 expected=$3 got
  got=$(json_get "$filter" <<<"$json") || testbed_die "cannot read $filter from: $json"
  [ "$got" = "$expected" ] || testbed_die "$filter is '$got', expected '$expected'"
}

# assert_json_is JSON PATH LITERAL: the value at PATH equals the JSON
# LITERAL, type included: 1 is not "1", true is not "true".
assert_json_is() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
expected = json.loads(sys.argv[2])
if value != expected or type(value) is not type(expected):
    sys.exit("%s is %s, expected %s" % (sys.argv[1], json.dumps(value), sys.argv[2]))
' "$2" "$3" <<<"$1" || testbed_die "$2 is not $3 in: $1"
}

assert_contains() {
  local text=$1 needle=$2
  case "$text" in
    *"$needle"*) ;;
    *) testbed_die "expected '$needle' in: $text" ;;
  esac
}

assert_not_contains() {
  local text=$1 needle=$2
  case "$text" in
    *"$needle"*) testbed_die "did not expect '$needle' in: $text" ;;
  esac
}

# expect_rc EXPECTED_RC CMD...: runs CMD and prints its standard output
# (a JSON report, say); dies unless it exits EXPECTED_RC.
expect_rc() {
  local expected=$1 out rc
  shift
  set +e
  out=$("$@" 2>/dev/null)
  rc=$?
  set -e
  [ "$rc" = "$expected" ] || testbed_die "'$*' exited $rc, expected $expected: $out"
  printf '%s\n' "$out"
}

# assert_fails EXPECTED_RC NEEDLE CMD...: CMD exits EXPECTED_RC and prints NEEDLE.
assert_fails() {
  local expected=$1 needle=$2 out rc
  shift 2
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" = "$expected" ] || testbed_die "'$*' exited $rc, expected $expected; output: $out"
  assert_contains "$out" "$needle"
}
