# Preamble of every test that boots guests (bash): the test bed, the
# assertions and workloads, cleanup on exit, a private host state
# directory, m() for molt on the test URI, and the image's two kernels.
set -euo pipefail
testbed_lib=$(dirname "${BASH_SOURCE[0]}")
source "$testbed_lib/testbed.sh"
source "$testbed_lib/assert.sh"
source "$testbed_lib/jobs.sh"
source "$testbed_lib/snapshots.sh"
testbed_init
export MOLT_STATE_DIR=${MOLT_STATE_DIR:-$(mktemp -d)}
m() { "$MOLT" -c "$MOLT_TEST_URI" "$@"; }
read -r -a kernels <"$MOLT_GUEST_DIR/kernels"
k_old=${kernels[0]}
k_new=${kernels[1]:-${kernels[0]}}
