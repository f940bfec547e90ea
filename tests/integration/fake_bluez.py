#!/usr/bin/python3
"""A fake BlueZ for the BLE adapter tests, on a private bus.

Starts its own dbus-daemon (nothing touches the machine's system bus), runs python-dbusmock's
bluez5 template on it as the "system bus" service org.bluez, and adds one adapter (hci0), one
device and a GATT service with a notify characteristic and a write characteristic.
Prints "ready <bus address>" when set up, then obeys one command per stdin line, answering
each with one line ("ok ...", or "error ..."):

  notify HEX     the notify characteristic's Value changes (one notification)
  burst HEX ...  several notifications back to back, one per HEX (a BLE connection event that
                 carries several packets)
  disconnect     link loss: Device1.Connected and ServicesResolved become false
  written        prints the bytes last written to the write characteristic, as hex
  connects       prints how many times Device1.Connect was called
  quit           (or end of input) stops the mock and the bus
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

import dbus

ADDRESS = os.environ.get("FAKE_BLE_ADDRESS", "AA:BB:CC:DD:EE:01")
NAME = os.environ.get("FAKE_BLE_NAME", "PrimusBand")
SERVICE = "0000ffe5-0000-1000-8000-00805f9b34fb"
NOTIFY = "0000ffe4-0000-1000-8000-00805f9b34fb"
WRITE = "0000ffe9-0000-1000-8000-00805f9b34fb"
CHAR_IFACE = "org.bluez.GattCharacteristic1"
DEVICE_IFACE = "org.bluez.Device1"
MOCK_IFACE = "org.freedesktop.DBus.Mock"

_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: no stray daemons if the test is killed


def main():
    bus_proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                preexec_fn=_die_with_parent)
    address = bus_proc.stdout.readline().strip()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    mock_proc = subprocess.Popen([sys.executable, "-m", "dbusmock", "--template", "bluez5", "--system"],
                                 env=env, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    try:
        conn = dbus.bus.BusConnection(address)
        deadline = time.monotonic() + 60
        while not conn.name_has_owner("org.bluez"):
            if time.monotonic() > deadline or mock_proc.poll() is not None:
                print("error: dbusmock did not start", flush=True)
                return 1
            time.sleep(0.05)
        root = conn.get_object("org.bluez", "/")
        dbus.Interface(root, "org.bluez.Mock").AddAdapter("hci0", "primus-test")
        dev_path = dbus.Interface(root, "org.bluez.Mock").AddDevice("hci0", ADDRESS, NAME)
        dev = dbus.Interface(conn.get_object("org.bluez", dev_path), MOCK_IFACE)
        # A real Connect also resolves the GATT services; the template's leaves props untouched.
        dev.AddMethod(DEVICE_IFACE, "Connect", "", "",
                      "self.UpdateProperties('org.bluez.Device1', {"
                      "'Connected': dbus.Boolean(True, variant_level=1),"
                      "'ServicesResolved': dbus.Boolean(True, variant_level=1)})")
        svc = dev_path + "/service0010"
        chr_path = svc + "/char0011"
        wr_path = svc + "/char0014"
        rootmock = dbus.Interface(root, MOCK_IFACE)
        rootmock.AddObject(svc, "org.bluez.GattService1",
                           {"UUID": SERVICE, "Device": dbus.ObjectPath(dev_path), "Primary": True}, [])
        rootmock.AddObject(chr_path, CHAR_IFACE,
                           {"UUID": NOTIFY, "Service": dbus.ObjectPath(svc),
                            "Value": dbus.Array([], signature="y"), "Notifying": False,
                            "Flags": dbus.Array(["notify"], signature="s")},
                           [("StartNotify", "", "", "self.UpdateProperties('org.bluez.GattCharacteristic1', "
                                                    "{'Notifying': dbus.Boolean(True, variant_level=1)})"),
                            ("StopNotify", "", "", "")])
        rootmock.AddObject(wr_path, CHAR_IFACE,
                           {"UUID": WRITE, "Service": dbus.ObjectPath(svc),
                            "Value": dbus.Array([], signature="y"),
                            "Flags": dbus.Array(["write"], signature="s")},
                           [("WriteValue", "aya{sv}", "", "self.UpdateProperties('org.bluez.GattCharacteristic1', "
                                                          "{'Value': dbus.Array(args[0], signature='y', variant_level=1)})")])
        chr_mock = dbus.Interface(conn.get_object("org.bluez", chr_path), MOCK_IFACE)
        wr_props = dbus.Interface(conn.get_object("org.bluez", wr_path), "org.freedesktop.DBus.Properties")
        print("ready " + address, flush=True)
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            try:
                if cmd == "notify":
                    chr_mock.UpdateProperties(CHAR_IFACE, {"Value": dbus.Array(bytes.fromhex(arg), signature="y",
                                                                               variant_level=1)})
                    print("ok", flush=True)
                elif cmd == "burst":
                    for h in arg.split():
                        chr_mock.UpdateProperties(CHAR_IFACE, {"Value": dbus.Array(bytes.fromhex(h), signature="y",
                                                                                   variant_level=1)})
                    print("ok", flush=True)
                elif cmd == "disconnect":
                    dev.UpdateProperties(DEVICE_IFACE, {"Connected": dbus.Boolean(False, variant_level=1),
                                                        "ServicesResolved": dbus.Boolean(False, variant_level=1)})
                    print("ok", flush=True)
                elif cmd == "written":
                    print("ok " + bytes(wr_props.Get(CHAR_IFACE, "Value")).hex(), flush=True)
                elif cmd == "connects":
                    n = sum(1 for c in dev.GetCalls() if str(c[1]) == "Connect")
                    print("ok %d" % n, flush=True)
                elif cmd == "quit":
                    print("ok", flush=True)
                    break
                else:
                    print("error unknown command " + cmd, flush=True)
            except dbus.DBusException as e:
                print("error " + str(e).replace("\n", " "), flush=True)
        return 0
    finally:
        mock_proc.terminate()
        bus_proc.terminate()
        mock_proc.wait(timeout=10)
        bus_proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
