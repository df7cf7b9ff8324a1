# molt libvirt test bed: sourced by integration and e2e tests (bash).
#
# Starts transient domains with unique names from the cached test guest,
# TCG unless KVM really works (or MOLT_ACCEL says otherwise), direct kernel
# boot, serial console to a log file, the org.molt.agent.0 channel. Every
# domain and file is removed on exit, failure or interruption; the console
# logs of a failed test are kept under $MOLT_TESTBED_LOGS.
#
# Environment (set by meson): MOLT, MOLT_GUEST_DIR, MOLT_TESTBED_LOGS,
# MOLT_TEST_URI (default qemu:///system), MOLT_ACCEL (tcg|kvm).

: "${MOLT_TEST_URI:=qemu:///system}"
: "${MOLT_TESTBED_LOGS:=${TMPDIR:-/tmp}/molt-testbed-logs}"
: "${MOLT_TESTBED_ROOT:=/var/lib/libvirt/images/molt-testbed}"
: "${MOLT_GUEST_MEMORY_MIB:=512}"
testbed_xml_template=$(dirname "${BASH_SOURCE[0]}")/domain.xml.in
testbed_failed=0

testbed_log() { printf '[testbed %s] %s\n' "$(date +%T)" "$*" >&2; }

testbed_die() {
  testbed_log "FAIL: $*"
  testbed_failed=1
  exit 1
}

# KVM only when the CPU offers it to us; DESIGN.md: /dev/kvm exists here but
# a KVM guest spins forever without vmx/svm.
testbed_accel() {
  if [ -n "${MOLT_ACCEL:-}" ]; then
    echo "$MOLT_ACCEL"
  elif grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ -w /dev/kvm ]; then
    echo kvm
  else
    echo qemu
  fi
}

virsh_t() { virsh -q -c "$MOLT_TEST_URI" "$@"; }

# Domains left by a test that was killed (its owner pid is gone).
testbed_sweep_stale() {
  local dom owner
  for dom in $(virsh_t list --all --name 2>/dev/null | grep '^molt-test-' || true); do
    owner=${dom##*-}
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
      testbed_log "removing stale domain $dom (owner $owner is gone)"
      virsh_t destroy "$dom" >/dev/null 2>&1 || true
      virsh_t undefine --snapshots-metadata --nvram "$dom" >/dev/null 2>&1 || true
      rm -rf "${MOLT_TESTBED_ROOT:?}/$dom"
    fi
  done
}

# QEMU runs as libvirt-qemu: the cached image must be reachable for it. If
# the build tree is not (a private home directory, say), hard-link the
# images into libvirt's own image directory.
testbed_guest_dir() {
  if runuser -u libvirt-qemu -- test -r "$MOLT_GUEST_DIR/root.qcow2" 2>/dev/null; then
    echo "$MOLT_GUEST_DIR"
    return
  fi
  local staged=$MOLT_TESTBED_ROOT/guest-$(cat "$MOLT_GUEST_DIR/inputs.sha256")
  if [ ! -f "$staged/root.qcow2" ]; then
    mkdir -p "$staged"
    local f
    for f in "$MOLT_GUEST_DIR"/root.qcow2 "$MOLT_GUEST_DIR"/vmlinuz-* "$MOLT_GUEST_DIR"/initrd.img-*; do
      ln -f "$f" "$staged/" 2>/dev/null || cp "$f" "$staged/"
    done
  fi
  echo "$staged"
}

# testbed_new_domain TAG UEFI BACKING: a unique name (TAG, -uefi when UEFI
# is 1, our pid last: testbed_cleanup finds it by that), its directory
# with a qcow2 overlay of BACKING as disk.qcow2, and the accelerator and CPU
# mode to use; in TESTBED_NEW_NAME, _DIR, _ACCEL, _CPU_MODE.
testbed_new_domain() {
  local tag=$1 uefi=$2 backing=$3
  [ "$uefi" = 1 ] && tag="$tag-uefi"
  TESTBED_NEW_NAME="molt-test-$tag-$RANDOM-$$"
  TESTBED_NEW_DIR="$MOLT_TESTBED_ROOT/$TESTBED_NEW_NAME"
  mkdir -p "$TESTBED_NEW_DIR"
  chmod 755 "$MOLT_TESTBED_ROOT" "$TESTBED_NEW_DIR"
  qemu-img create -q -f qcow2 -F qcow2 -b "$backing" "$TESTBED_NEW_DIR/disk.qcow2"
  TESTBED_NEW_ACCEL=$(testbed_accel)
  if [ "$TESTBED_NEW_ACCEL" = kvm ]; then
    TESTBED_NEW_CPU_MODE=host-passthrough
  else
    TESTBED_NEW_CPU_MODE=maximum
  fi
}

# testbed_start TAG [KERNEL_VERSION] [--no-channel] [--persistent] [--uefi]
#                [--cmdline-extra TEXT]
# Prints the domain name (also left in $TESTBED_DOMAIN when not called in a
# subshell). The first kernel in $MOLT_GUEST_DIR/kernels boots unless one
# is given. --uefi boots it through OVMF (libvirt picks Debian's non-Secure-
# Boot build from its firmware descriptors; the NVRAM is a per-domain copy):
# pflash firmware is what makes libvirt refuse internal snapshots.
# MOLT_TESTBED_UEFI=1 makes --uefi the default (the UEFI rerun of a suite).
testbed_start() {
  local tag=$1; shift
  local version="" channel=1 extra="" persistent=0 uefi=${MOLT_TESTBED_UEFI:-0} arg
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-channel) channel=0; shift ;;
      --uefi) uefi=1; shift ;;
      --persistent) persistent=1; shift ;;
      --cmdline-extra) extra=$2; shift 2 ;;
      *) version=$1; shift ;;
    esac
  done
  [ -n "$version" ] || version=$(awk '{print $1}' "$MOLT_GUEST_DIR/kernels")
  local guest name dir accel cpu_mode channel_xml="" os_open="<os>" loader_xml=""
  guest=$(testbed_guest_dir)
  testbed_new_domain "$tag" "$uefi" "$guest/root.qcow2"
  name=$TESTBED_NEW_NAME dir=$TESTBED_NEW_DIR accel=$TESTBED_NEW_ACCEL cpu_mode=$TESTBED_NEW_CPU_MODE
  if [ "$channel" = 1 ]; then
    channel_xml="    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.molt.agent.0'/>
    </channel>"
  fi
  if [ "$uefi" = 1 ]; then
    os_open="<os firmware='efi'>"
    loader_xml="    <firmware><feature enabled='no' name='secure-boot'/></firmware>
    <nvram>$dir/nvram.fd</nvram>"
  fi
  sed -e "s|@ACCEL@|$accel|" -e "s|@NAME@|$name|" -e "s|@OWNER@|$$|" \
      -e "s|<os>|$os_open|" \
      -e "s|@MEMORY_MIB@|$MOLT_GUEST_MEMORY_MIB|" \
      -e "s|@KERNEL@|$guest/vmlinuz-$version|" -e "s|@INITRD@|$guest/initrd.img-$version|" \
      -e "s|@CMDLINE@|root=/dev/vda rw console=ttyS0 panic=-1 $extra|" \
      -e "s|@CPU_MODE@|$cpu_mode|" -e "s|@DISK@|$dir/disk.qcow2|" \
      -e "s|@CONSOLE_LOG@|$dir/console.log|" "$testbed_xml_template" \
    | awk -v ch="$channel_xml" -v ld="$loader_xml" '{
        if ($0 == "@CHANNEL@") { if (ch != "") print ch }
        else if ($0 == "@LOADER@") { if (ld != "") print ld }
        else print }' \
    >"$dir/domain.xml"
  if [ "$persistent" = 1 ]; then
    virsh_t define "$dir/domain.xml" >/dev/null && virsh_t start "$name" >/dev/null \
      || testbed_die "virsh define/start $name failed"
  else
    virsh_t create "$dir/domain.xml" >/dev/null || testbed_die "virsh create $name failed"
  fi
  testbed_log "started $name ($accel, kernel $version$([ "$uefi" = 1 ] && echo ', UEFI'))"
  TESTBED_DOMAIN=$name
  echo "$name"
}

# testbed_start_debian TAG [--uefi] [--no-channel]: the Debian 12 guest with systemd
# ($MOLT_DEBIAN_GUEST_DIR, tests/guest-debian/build-image), booted from its
# own disk: GRUB (on a CD for BIOS, on an ESP disk for UEFI) reads the
# guest's /boot/grub/grub.cfg. Prints the domain name, as testbed_start.
testbed_start_debian() {
  local tag=$1 uefi=${MOLT_TESTBED_UEFI:-0} channel=1 name dir accel cpu_mode boot_xml loader_xml=""
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --uefi) uefi=1 ;;
      --no-channel) channel=0 ;;
    esac
    shift
  done
  testbed_new_domain "$tag" "$uefi" "$MOLT_DEBIAN_GUEST_DIR/debian.qcow2"
  name=$TESTBED_NEW_NAME dir=$TESTBED_NEW_DIR accel=$TESTBED_NEW_ACCEL cpu_mode=$TESTBED_NEW_CPU_MODE
  if [ "$uefi" = 1 ]; then
    cp "$MOLT_DEBIAN_GUEST_DIR/boot-efi.img" "$dir/esp.img"
    loader_xml="    <firmware><feature enabled='no' name='secure-boot'/></firmware>
    <nvram>$dir/nvram.fd</nvram>"
    boot_xml="    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$dir/esp.img'/>
      <target dev='vdb' bus='virtio'/>
      <boot order='1'/>
    </disk>"
  else
    # SeaBIOS hands GRUB only the disks in the boot order: the guest's disk
    # is in it (second), or GRUB would not find the guest's /boot.
    boot_xml="    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$MOLT_DEBIAN_GUEST_DIR/boot-bios.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
      <boot order='1'/>
    </disk>"
  fi
  sed -e "s|@ACCEL@|$accel|" -e "s|@NAME@|$name|" -e "s|@OWNER@|$$|" \
      -e "s|<os>|$([ "$uefi" = 1 ] && echo "<os firmware='efi'>" || echo "<os>")|" \
      -e "s|@MEMORY_MIB@|${MOLT_DEBIAN_MEMORY_MIB:-1024}|" -e "s|@CPU_MODE@|$cpu_mode|" \
      -e "s|@DISK@|$dir/disk.qcow2|" -e "s|@CONSOLE_LOG@|$dir/console.log|" \
      "$(dirname "${BASH_SOURCE[0]}")/debian-domain.xml.in" \
    | awk -v bl="$boot_xml" -v ld="$loader_xml" -v ch="$channel" '{
        if ($0 == "@BOOTLOADER@") print bl
        else if ($0 == "@LOADER@") { if (ld != "") print ld }
        else if (ch == 0 && $0 ~ /<channel type=/) {
          # As a VM with a qemu-guest-agent channel has: the controller a
          # channel is hot-plugged onto (libvirt cannot hot-plug one).
          print "    <controller type=\"virtio-serial\" index=\"0\"/>"; skip = 1; next }
        else if (skip) { if ($0 ~ /<\/channel>/) skip = 0; next }
        else print }' >"$dir/domain.xml"
  virsh_t create "$dir/domain.xml" >/dev/null || testbed_die "virsh create $name failed"
  testbed_log "started $name ($accel, Debian 12 from its own disk$([ "$uefi" = 1 ] && echo ', UEFI'))"
  TESTBED_DOMAIN=$name
  echo "$name"
}

# testbed_wait_agent DOMAIN [TIMEOUT_S]: waits until molt ping answers;
# prints the seconds it took.
testbed_wait_agent() {
  local dom=$1 timeout=${2:-180} start now
  start=$(date +%s.%N)
  while :; do
    if "$MOLT" -c "$MOLT_TEST_URI" --timeout 3 ping "$dom" >/dev/null 2>&1; then
      now=$(date +%s.%N)
      awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f\n", b - a }'
      return 0
    fi
    now=$(date +%s)
    if testbed_console "$dom" | grep -q 'molt-initramfs: cannot boot'; then
      testbed_console "$dom" | tail -n 5 >&2
      testbed_die "guest $dom cannot boot"
    fi
    if [ $(( now - ${start%.*} )) -ge "$timeout" ]; then
      testbed_console "$dom" | tail -n 30 >&2
      testbed_die "agent in $dom did not answer within ${timeout}s"
    fi
    sleep 1
  done
}

# testbed_wait_console DOMAIN REGEX [TIMEOUT_S]: waits for a console line.
testbed_wait_console() {
  local dom=$1 pattern=$2 timeout=${3:-180} waited=0
  until testbed_console "$dom" | grep -qE "$pattern"; do
    if [ "$waited" -ge "$timeout" ]; then
      testbed_console "$dom" | tail -n 30 >&2
      testbed_die "no '$pattern' on the console of $dom within ${timeout}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

testbed_console() {
  local dom=$1
  cat "$MOLT_TESTBED_ROOT/$dom/console.log" 2>/dev/null
}

testbed_destroy() {
  local dom=$1
  virsh_t destroy "$dom" >/dev/null 2>&1 || true
}

# Every domain of this test carries our pid as its name's last part, so
# cleanup finds them even when they were started in a subshell.
testbed_cleanup() {
  local status=$?
  local dom dir
  [ "$status" = 0 ] || testbed_failed=1
  for dom in $(virsh_t list --all --name 2>/dev/null | grep -E "^molt-test-.*-$$\$" || true); do
    virsh_t destroy "$dom" >/dev/null 2>&1 || true
    virsh_t undefine --snapshots-metadata --nvram "$dom" >/dev/null 2>&1 || true
  done
  for dir in "$MOLT_TESTBED_ROOT"/molt-test-*-"$$"; do
    [ -d "$dir" ] || continue
    dom=${dir##*/}
    if [ "$testbed_failed" = 1 ] && [ -f "$dir/console.log" ]; then
      mkdir -p "$MOLT_TESTBED_LOGS"
      cp "$dir/console.log" "$MOLT_TESTBED_LOGS/$dom.console.log"
      testbed_log "console log kept: $MOLT_TESTBED_LOGS/$dom.console.log"
    fi
    rm -rf "$dir"
  done
  return "$status"
}

testbed_init() {
  [ -n "${MOLT:-}" ] && [ -x "$MOLT" ] || { echo "testbed: \$MOLT must point at the molt binary" >&2; exit 1; }
  [ -f "${MOLT_GUEST_DIR:-}/root.qcow2" ] || { echo "testbed: no guest image in \$MOLT_GUEST_DIR" >&2; exit 1; }
  virsh_t version >/dev/null 2>&1 || {
    echo "testbed: cannot reach libvirt at $MOLT_TEST_URI (scripts/check starts libvirtd)" >&2
    exit 1
  }
  trap testbed_cleanup EXIT
  trap 'testbed_failed=1; exit 130' INT TERM
  testbed_sweep_stale
}

# hold_lock FILE OPERATION: a stand-in for another molt operation holding
# FILE (an flock, and the "PID EPOCH OPERATION" line molt writes); its pid
# in $HOLDER. Killing it releases the lock.
hold_lock() {
  mkdir -p "$(dirname "$1")"
  python3 -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.truncate(0)
f.write("%d %d %s\n" % (os.getpid(), int(time.time()), sys.argv[2]))
f.flush()
time.sleep(120)' "$1" "$2" &
  HOLDER=$!
  local i
  for i in $(seq 1 50); do [ -s "$1" ] && return 0; sleep 0.1; done
  testbed_die "could not hold $1"
}
