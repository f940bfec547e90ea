#!/usr/bin/env bash
# The installed unit under a real systemd: boot the Debian 12 root that test_install.sh left
# (KEEP_ROOT=DIR) with `systemd-nspawn --boot`, then inside it: primusd.service active (READY=1
# reached: Type=notify), its watchdog armed and pinged, `systemctl reload` (SIGHUP) logged,
# `systemctl stop` clean, and `journalctl -u primusd` holding all of it.
#
# Usage: tests/package/test_boot.sh ROOT   (root; systemd-nspawn from systemd-container)
# ROOT must not have /proc, /sys or /dev mounted in it.
# test_install.sh runs it on the root it installed (PRIMUS_PACKAGE_BOOT=0 skips it).
set -euo pipefail
root=${1:?usage: test_boot.sh ROOT}
fail() { echo "test_boot: FAIL: $*" >&2; exit 1; }
[ -x "$root/lib/systemd/systemd" ] || fail "$root has no systemd (install the package first)"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is missing (systemd-container)"

log=$(mktemp /tmp/primusd-boot.XXXXXX.log)
machine=primusd-test-$$
# Without systemd as PID 1 on the host there is no machined to register with and no unit to
# move into: --register=no --keep-unit. Under systemd, nspawn makes its own scope.
nspawn_args=(--boot --quiet --machine="$machine" -D "$root")
[ -d /run/systemd/system ] || nspawn_args+=(--register=no --keep-unit)
systemd-nspawn "${nspawn_args[@]}" >"$log" 2>&1 &
nspawn=$!
cleanup() {
  kill -TERM "$nspawn" 2>/dev/null || true
  wait "$nspawn" 2>/dev/null || true
}
trap cleanup EXIT

# The container's PID 1 is nspawn's child.
leader=""
for _ in $(seq 100); do
  kill -0 "$nspawn" 2>/dev/null || { cat "$log" >&2; fail "systemd-nspawn --boot exited"; }
  leader=$(pgrep -P "$nspawn" | head -1 || true)
  [ -n "$leader" ] && [ "$(cat /proc/"$leader"/comm 2>/dev/null)" = systemd ] && break
  sleep 0.2
done
[ -n "$leader" ] || { cat "$log" >&2; fail "no container PID 1"; }
inside() { nsenter --target "$leader" --all /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# systemctl talks to PID 1 over /run/systemd/private: wait until the manager listens there.
for _ in $(seq 300); do
  [ -S "/proc/$leader/root/run/systemd/private" ] && break
  kill -0 "$nspawn" 2>/dev/null || { cat "$log" >&2; fail "the container stopped while booting"; }
  sleep 0.2
done
[ -S "/proc/$leader/root/run/systemd/private" ] || { cat "$log" >&2; fail "systemd did not come up"; }
state=$(inside timeout 120 systemctl is-system-running --wait 2>&1) || true
echo "test_boot: system: $state"
inside systemctl start primusd.service || { inside journalctl -u primusd --no-pager >&2; fail "start"; }
[ "$(inside systemctl show -p ActiveState --value primusd)" = active ] || fail "not active"
[ "$(inside systemctl show -p Type --value primusd)" = notify ] || fail "not Type=notify"
wd=$(inside systemctl show -p WatchdogUSec --value primusd)
[ "$wd" = 10s ] || fail "WatchdogUSec=$wd"
sleep 12  # longer than WatchdogSec: a missing ping would have restarted it
[ "$(inside systemctl show -p NRestarts --value primusd)" = 0 ] || fail "restarted (watchdog?)"
inside systemctl show -p StatusText --value primusd
# The daemon answers SIGHUP with RELOADING=1 and ends the reload with READY=1 (sd_notify(3));
# without that READY=1 the reload job never completes and `systemctl reload` hangs.
inside timeout 30 systemctl reload primusd.service ||
  fail "systemctl reload did not complete within 30 s (state: $(inside systemctl show -p ActiveState,SubState --value primusd | tr '\n' ' '))"
sleep 1
inside journalctl -u primusd --no-pager | grep -q SIGHUP || fail "no SIGHUP in the journal"
inside systemctl stop primusd.service || fail "stop"
[ "$(inside systemctl show -p Result --value primusd)" = success ] || fail "stop result"
inside journalctl -u primusd --no-pager | tail -20
echo "test_boot: OK"
