# Shared by scripts/check and scripts/demo: check the machine, install what
# is missing (Debian 12, as root), start libvirt, build.
set -euo pipefail

# Debian's own programs first, those the packages below install: a python3
# behind a version manager's shim (pyenv) took 0.42 s of CPU per start here
# against 0.045 s for /usr/bin/python3, and the VM tests start python3 at
# every poll of a job's state, thousands of times on two busy cores.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

molt_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
molt_build=${MOLT_BUILD_DIR:-$molt_top/build}

# Build, test guest image, libvirt and QEMU, test tools, fuzzing.
molt_packages=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libjson-glib-dev libvirt-dev libcunit1-dev libprotobuf-c-dev
  criu busybox-static kexec-tools nftables redis-server
  e2fsprogs qemu-utils cpio gzip xz-utils zstd kmod
  libvirt-daemon-system libvirt-clients qemu-system-x86 ovmf
  valgrind python3 time util-linux
  clang libclang-rt-14-dev clang-format
  debhelper lintian dpkg-dev systemd udev
  mmdebstrap grub-efi-amd64-bin grub-pc-bin mtools dosfstools genisoimage
  # the test driver of the driver-set tests, built for the test kernels
  # (meson_options.txt guest_kernels)
  make linux-headers-6.1.0-47-cloud-amd64 linux-headers-6.1.0-56-cloud-amd64
)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit "${2:-1}"; }

missing_packages() {
  local pkg
  for pkg in "${molt_packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
      || echo "$pkg"
  done
}

check_platform() {
  local id="" version=""
  if [ -r /etc/os-release ]; then
    id=$(. /etc/os-release && echo "${ID:-}")
    version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  fi
  if [ "$id" != debian ] || [ "$version" != 12 ]; then
    die "this script sets up Debian 12; this is '${id:-unknown} ${version:-}'.
Install the equivalents of these Debian packages yourself, start libvirtd, then
run 'meson setup build && meson test -C build':
  ${molt_packages[*]}" 69
  fi
  command -v dpkg-query >/dev/null || die "dpkg-query is missing: not a Debian system?" 69
}

install_packages() {
  local missing
  missing=$(missing_packages | tr '\n' ' ')
  [ -n "${missing// /}" ] || return 0
  if [ "$(id -u)" != 0 ]; then
    die "missing packages: $missing
Run this script as root (it installs them with apt-get and starts libvirtd), or
install them yourself: apt-get install $missing" 77
  fi
  say "installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # --force-confnew: libvirt-daemon-system's configuration files as shipped.
  # shellcheck disable=SC2086
  apt-get install -y -q -o Dpkg::Options::=--force-confnew $missing >/dev/null
}

# libvirtd without systemd (containers, CI): start the daemons by hand.
start_libvirt() {
  if virsh -q -c qemu:///system version >/dev/null 2>&1; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "libvirtd is not running and only root can start it" 77
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    say "starting libvirtd (systemd)"
    systemctl start virtlogd.socket libvirtd.service || true
  else
    say "starting virtlogd and libvirtd"
    mkdir -p /var/log/libvirt /var/run/libvirt
    pgrep -x virtlogd >/dev/null || virtlogd -d
    pgrep -x libvirtd >/dev/null || libvirtd -d
  fi
  local i
  for i in $(seq 1 60); do
    virsh -q -c qemu:///system version >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "libvirtd did not come up (see /var/log/libvirt/libvirtd.log)" 69
}

# Every component and every test on, said out loud: a reused build
# directory configured otherwise would give empty suites.
molt_build_options=(-Dhost_tools=true -Dguest_agent=true -Dtests=enabled -Dtest_faults=true)

build_molt() {
  if [ ! -f "$molt_build/build.ninja" ]; then
    say "configuring $molt_build"
    meson setup "$molt_build" "$molt_top" "${molt_build_options[@]}" >/dev/null
  else
    meson setup --reconfigure "$molt_build" "$molt_top" "${molt_build_options[@]}" >/dev/null
  fi
  say "building"
  ninja -C "$molt_build" >/dev/null
}

# The cached test guest (downloads two Debian kernels the first time).
build_guest_image() {
  say "test guest image (cached in $molt_build/tests/guest)"
  ninja -C "$molt_build" tests/guest-image.stamp | grep -E 'build-image' >&2 || true
}

setup_all() {
  check_platform
  install_packages
  start_libvirt
  build_molt
}
