# Snapshot helpers for the tests of $dom (sourced by vm-test.sh).

# policy_snapshots: the names of the snapshots a policy took, oldest first.
policy_snapshots() {
  m --json snapshot list "$dom" | python3 -c '
import json, sys
print(" ".join(s["name"] for s in json.load(sys.stdin)["snapshots"] if s["name"].startswith("molt-policy-")))'
}

# disk_file: the active file of the domain's first disk.
disk_file() { virsh_t domblklist "$dom" --details | awk '$2 == "disk" {print $4; exit}'; }

# chain_length: how many files its chain has, the active one to the base.
chain_length() { qemu-img info -U --backing-chain --output=json "$(disk_file)" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
