#!/usr/bin/env bash
# The Debian package in a fresh Debian 12 root: debootstrap --variant=minbase bookworm into a
# folder, `dpkg -i` the .deb and `apt-get -f install` its dependencies inside a chroot, then check
# what was installed: the files, the primusd user and state directory, `systemd-analyze verify`
# on the installed unit, `primusd --check-config /etc/primusd/primusd.toml`, the man pages
# (groff warnings are failures), the bash completion, `lintian` (no errors), the unit booted
# under systemd-nspawn (tests/package/test_boot.sh; PRIMUS_PACKAGE_BOOT=0 skips it), and purge.
#
# Usage: tests/package/test_install.sh [DEB]   (default: scripts/package builds one)
# Needs root, network to a Debian mirror (PRIMUS_DEBIAN_MIRROR, default deb.debian.org),
# debootstrap and lintian (scripts/setup). PRIMUS_PACKAGE_CACHE=DIR keeps the downloaded .debs
# between runs. KEEP_ROOT=DIR leaves the installed root in DIR (tests/package/test_boot.sh boots
# it) instead of deleting it. Prints each step's time; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
mirror=${PRIMUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PRIMUS_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
t0=$(date +%s)
step() { echo "test_install: [$(( $(date +%s) - t0 )) s] $*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot)"
for tool in debootstrap lintian groff chroot; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/setup installs it)"
done

deb=${1:-}
if [ -z "$deb" ]; then
  step "building the package (scripts/package)"
  deb=$(scripts/package | tail -1)
fi
[ -f "$deb" ] || fail "$deb: no such package"
deb=$(readlink -f "$deb")
step "package: $deb ($(du -h "$deb" | cut -f1))"

root=${KEEP_ROOT:-$(mktemp -d /var/tmp/primusd-root.XXXXXX)}
mkdir -p "$root"
chmod 755 "$root"  # mktemp makes it 0700: the booted root's "/" would shut out the primusd user
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if [ -z "${KEEP_ROOT:-}" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

# ---- a fresh Debian 12 root --------------------------------------------------------------------
cache_args=()
if [ -n "${PRIMUS_PACKAGE_CACHE:-}" ]; then
  mkdir -p "$PRIMUS_PACKAGE_CACHE"
  cache_args=(--cache-dir="$(readlink -f "$PRIMUS_PACKAGE_CACHE")")
fi
step "debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase "${cache_args[@]}" bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  { tail -20 "$root.debootstrap.log" >&2; fail "debootstrap failed (log: $root.debootstrap.log)"; }
rm -f "$root.debootstrap.log"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
cp /etc/resolv.conf "$root/etc/resolv.conf"
for fs in proc sys dev dev/pts; do
  mkdir -p "$root/$fs"
  case $fs in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sys "$root/sys" ;;
    dev) mount --bind /dev "$root/dev" ;;
    dev/pts) mount -t devpts devpts "$root/dev/pts" ;;
  esac
  mounted+=("$root/$fs")
done
if [ -n "${PRIMUS_PACKAGE_CACHE:-}" ]; then
  mkdir -p "$PRIMUS_PACKAGE_CACHE/apt"
  mount --bind "$PRIMUS_PACKAGE_CACHE/apt" "$root/var/cache/apt/archives"
  mounted+=("$root/var/cache/apt/archives")
  rm -f "$root/etc/apt/apt.conf.d/docker-clean"
fi
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- install: dpkg -i fails on the missing dependencies, apt-get -f install brings them ---------
step "dpkg -i + apt-get -f install"
cp "$deb" "$root/tmp/"
name=$(basename "$deb")
in_root apt-get update -qq >/dev/null
if in_root dpkg -i "/tmp/$name" >"$root/tmp/dpkg.log" 2>&1; then
  echo "test_install: (dpkg -i found every dependency already installed)"
fi
in_root apt-get -f install -y -qq -o Dpkg::Use-Pty=0 >"$root/tmp/apt.log" 2>&1 ||
  { tail -30 "$root/tmp/apt.log" >&2; fail "apt-get -f install failed"; }
status=$(in_root dpkg-query -W -f='${Status} ${Version}' primusd)
[[ $status == "install ok installed "* ]] || fail "primusd not installed: $status"
step "installed: $status; $(in_root dpkg-query -W -f='${Installed-Size}' primusd) KiB, root now $(du -sh --one-file-system "$root" | cut -f1)"

# ---- what the package put there ----------------------------------------------------------------
for f in /usr/bin/primusd /usr/bin/primusctl /usr/bin/primus-model \
  /lib/systemd/system/primusd.service /usr/lib/sysusers.d/primusd.conf \
  /usr/lib/tmpfiles.d/primusd.conf /etc/primusd/primusd.toml \
  /usr/share/man/man8/primusd.8.gz /usr/share/man/man1/primusctl.1.gz \
  /usr/share/man/man1/primus-model.1.gz /usr/share/man/man5/primusd.toml.5.gz \
  /usr/share/bash-completion/completions/primusctl /usr/share/doc/primusd/copyright \
  /usr/share/doc/primusd/changelog.Debian.gz; do
  [ -e "$root$f" ] || fail "$f is not installed"
done
grep -qx /etc/primusd/primusd.toml "$root/var/lib/dpkg/info/primusd.conffiles" ||
  fail "/etc/primusd/primusd.toml is not a conffile"
in_root getent passwd primusd >/dev/null || fail "postinst made no primusd user (systemd-sysusers)"
in_root id -nG primusd | grep -qw dialout || fail "primusd is not in group dialout"
owner=$(in_root stat -c '%U:%G %a' /var/lib/primusd) || fail "no /var/lib/primusd (systemd-tmpfiles)"
[ "$owner" = "primusd:primusd 750" ] || fail "/var/lib/primusd is $owner, want primusd:primusd 750"
[ -L "$root/etc/systemd/system/multi-user.target.wants/primusd.service" ] ||
  fail "postinst did not enable primusd.service (deb-systemd-helper)"

# ---- the installed programs run ----------------------------------------------------------------
step "primusd --check-config, --version; primusctl, primus-model"
out=$(in_root primusd --check-config /etc/primusd/primusd.toml) || fail "primusd --check-config: $out"
[[ $out == "/etc/primusd/primusd.toml: OK"* ]] || fail "primusd --check-config said: $out"
echo "  $out"
in_root primusd --version | grep -qx "primusd [0-9.]*" || fail "primusd --version"
in_root primusctl --version | grep -qx "primusctl [0-9.]*" || fail "primusctl --version"
in_root primus-model --version | grep -qx "primus-model [0-9.]*" || fail "primus-model --version"
# No daemon runs in the chroot: the control commands exit 3 (not reached), documented.
set +e
in_root primusctl status --timeout 0.2 >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "primusctl status with no daemon exited $rc, want 3"
if in_root ldd /usr/bin/primusd | grep -q 'not found'; then
  in_root ldd /usr/bin/primusd | grep 'not found' >&2
  fail "primusd needs libraries the package does not depend on"
fi

# ---- the unit ----------------------------------------------------------------------------------
step "systemd-analyze verify /lib/systemd/system/primusd.service"
verify=$(in_root systemd-analyze verify /lib/systemd/system/primusd.service 2>&1) ||
  fail "systemd-analyze verify: $verify"
if grep -q primusd <<<"$verify"; then fail "systemd-analyze verify: $verify"; fi
[ -z "$verify" ] || echo "  (not about primusd: $verify)"

# ---- man pages: render with groff, every warning is a failure; man -l formats them --------------
step "man pages"
for page in man8/primusd.8 man1/primusctl.1 man1/primus-model.1 man5/primusd.toml.5; do
  warnings=$(zcat "$root/usr/share/man/$page.gz" | groff -man -Tutf8 -ww -z 2>&1)
  [ -z "$warnings" ] || fail "$page: groff: $warnings"
  lines=$(MANWIDTH=80 man -l "$root/usr/share/man/$page.gz" 2>/dev/null | wc -l)
  [ "$lines" -gt 20 ] || fail "$page: man -l rendered $lines lines"
  echo "  $page: $lines lines"
done

# ---- bash completion from the installed file, against the installed primusctl ------------------
step "bash completion"
PRIMUSCTL="chroot $root /usr/bin/primusctl" \
  bash "$here/tests/package/test_completion.sh" "$root/usr/share/bash-completion/completions/primusctl" ||
  fail "bash completion"

# ---- lintian -----------------------------------------------------------------------------------
step "lintian"
lintian_out=$(lintian --fail-on error --display-level '>=warning' "$deb" 2>&1) && lintian_rc=0 || lintian_rc=$?
echo "$lintian_out" | sed 's/^/  /'
echo "  lintian: $(grep -c '^E:' <<<"$lintian_out" || true) errors, $(grep -c '^W:' <<<"$lintian_out" || true) warnings"
[ "$lintian_rc" -eq 0 ] || fail "lintian found errors"

# ---- the unit under a real systemd: boot the root (tests/package/test_boot.sh) -----------------
if [ "${PRIMUS_PACKAGE_BOOT:-1}" != 0 ]; then
  step "systemd-nspawn --boot: start, READY=1, watchdog, reload, stop, journal"
  # nspawn mounts /proc, /sys and /dev itself.
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}"; done
  mounted=()
  rm -f "$root/etc/resolv.conf"
  "$here/tests/package/test_boot.sh" "$root" || fail "the unit under systemd-nspawn --boot"
fi

# ---- remove and purge --------------------------------------------------------------------------
if [ -z "${KEEP_ROOT:-}" ]; then
  step "dpkg --purge primusd"
  in_root dpkg --purge primusd >"$root/tmp/purge.log" 2>&1 || { cat "$root/tmp/purge.log" >&2; fail "purge"; }
  [ ! -e "$root/usr/bin/primusd" ] || fail "purge left /usr/bin/primusd"
  [ ! -e "$root/etc/primusd/primusd.toml" ] || fail "purge left the conffile"
  [ ! -e "$root/var/lib/primusd" ] || fail "purge left /var/lib/primusd"
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/primusd.service" ] || fail "purge left the unit enabled"
fi
step "OK"
