#!/usr/bin/python3
"""Reference encoder of the primusd native frame (docs/protocol.md).

Use it as a library:

    from primus_frame import encode
    wire = encode(device_id=7, seq=0, t_us=0, acc=(0.0, 0.0, 9.81), gyro=(0.0, 0.0, 0.1))
    serial_port.write(wire)          # COBS-encoded payload followed by one 0x00

or from the command line, to turn a CSV recording into a stream of frames:

    primus_frame.py from-csv rec.csv --time-column t --acc acc_x,acc_y,acc_z \
        --gyro gyr_x,gyr_y,gyr_z --device-id 7 > frames.bin
    primus_frame.py from-csv rec.csv ... --udp 127.0.0.1:9000 --speed 1   # paced, one datagram each
    primus_frame.py selftest

Only the Python standard library is used, so it also runs on a Raspberry Pi gateway.
"""
import argparse
import csv
import socket
import struct
import sys
import time

VERSION = 1
FIELD_ACC, FIELD_GYRO, FIELD_QUAT, FIELD_MAG = 1, 2, 4, 8


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli): reflected poly 0x82F63B78, init and final xor 0xFFFFFFFF."""
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result holds no 0x00 byte."""
    out = bytearray([0])
    code_pos, code = 0, 1
    for b in data:
        if b == 0:
            out[code_pos] = code
            code_pos, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_pos] = code
                code_pos, code = len(out), 1
                out.append(0)
    out[code_pos] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ValueError("bad COBS")
        out += data[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def payload(device_id: int, seq: int, t_us: int, acc=None, gyro=None, quat=None, mag=None) -> bytes:
    """The unencoded payload: header, little-endian float32 values, CRC-32C."""
    if not 0 <= device_id <= 0xFFFF:
        raise ValueError("device_id must be 0..65535")
    if not 0 <= t_us < 2 ** 63:
        raise ValueError("t_us must be 0..2^63-1")
    fields, values = 0, []
    for bit, v, n in ((FIELD_ACC, acc, 3), (FIELD_GYRO, gyro, 3), (FIELD_QUAT, quat, 4), (FIELD_MAG, mag, 3)):
        if v is not None:
            if len(v) != n:
                raise ValueError(f"field {bit} needs {n} values")
            fields |= bit
            values.extend(float(x) for x in v)
    if fields == 0:
        raise ValueError("a frame needs at least one field")
    body = struct.pack("<BBHIQ", VERSION, fields, device_id, seq & 0xFFFFFFFF, t_us)
    body += struct.pack("<%df" % len(values), *values)
    return body + struct.pack("<I", crc32c(body))


def encode(device_id: int, seq: int, t_us: int, acc=None, gyro=None, quat=None, mag=None) -> bytes:
    """One wire frame: COBS(payload) followed by the 0x00 delimiter. quat is (w, x, y, z)."""
    return cobs_encode(payload(device_id, seq, t_us, acc, gyro, quat, mag)) + b"\x00"


def decode(frame: bytes):
    """Inverse of encode() for one frame (without or with its delimiter); raises ValueError."""
    p = cobs_decode(frame.rstrip(b"\x00"))
    if len(p) < 20 or crc32c(p[:-4]) != struct.unpack("<I", p[-4:])[0]:
        raise ValueError("bad frame")
    version, fields, device_id, seq, t_us = struct.unpack("<BBHIQ", p[:16])
    vals = struct.unpack("<%df" % ((len(p) - 20) // 4), p[16:-4])
    out, k = {"version": version, "device_id": device_id, "seq": seq, "t_us": t_us}, 0
    for bit, name, n in ((FIELD_ACC, "acc", 3), (FIELD_GYRO, "gyro", 3), (FIELD_QUAT, "quat", 4), (FIELD_MAG, "mag", 3)):
        if fields & bit:
            out[name] = vals[k:k + n]
            k += n
    return out


def _selftest():
    assert crc32c(b"123456789") == 0xE3069283
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(b"\x00") == b"\x01\x01"
    f = encode(1, 2, 3, acc=(1.0, 0.0, -1.0))
    assert f[-1] == 0 and f.count(0) == 1 and len(f) == 34
    # the example of docs/protocol.md, byte for byte
    expected = "04010101020201010203010101010101010103803f01010101010780bf04e62e8300"
    assert f.hex() == expected, f.hex()
    d = decode(f)
    assert d["acc"] == (1.0, 0.0, -1.0) and d["seq"] == 2 and d["t_us"] == 3
    print("primus_frame selftest: ok (%s)" % f.hex(" "))


def _columns(spec):
    return [c.strip() for c in spec.split(",")] if spec else None


def _from_csv(a):
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}[a.time_unit]
    with open(a.csv, newline="") as fh:
        sample = fh.readline()
        fh.seek(0)
        delim = ";" if ";" in sample and "," not in sample else ","
        rows = csv.DictReader(fh, delimiter=delim)
        acc, gyro, quat = _columns(a.acc), _columns(a.gyro), _columns(a.quat)
        sock = None
        if a.udp:
            host, port = a.udp.rsplit(":", 1)
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
            dest = (host.strip("[]"), int(port))
        out = sys.stdout.buffer
        t0_us, start, seq = None, time.monotonic(), 0
        if not sock:
            out.write(b"\x00")  # lets a receiver that joined mid-stream sync before frame 0
        for row in rows:
            try:
                t_us = int(round(float(row[a.time_column]) * scale))
                vals = {k: [float(row[c]) for c in cols] if cols else None
                        for k, cols in (("acc", acc), ("gyro", gyro), ("quat", quat))}
            except (KeyError, ValueError):
                continue  # the same rows the replay source skips
            if t0_us is None:
                t0_us = t_us
            frame = encode(a.device_id, seq, t_us - (t0_us if a.rebase else 0), **vals)
            seq += 1
            if a.speed > 0:
                due = start + (t_us - t0_us) / 1e6 / a.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if sock:
                sock.sendto(frame, dest)
            else:
                out.write(frame)
                if a.speed > 0:
                    out.flush()
        out.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("selftest", help="check the encoder against the documented example")
    c = sub.add_parser("from-csv", help="encode a CSV recording (one frame per row)")
    c.add_argument("csv")
    c.add_argument("--time-column", default="t")
    c.add_argument("--time-unit", default="s", choices=["s", "ms", "us", "ns"])
    c.add_argument("--rebase", action="store_true", help="start device time at 0")
    c.add_argument("--acc", required=True, help="three column names")
    c.add_argument("--gyro", help="three column names")
    c.add_argument("--quat", help="four column names, w first")
    c.add_argument("--device-id", type=int, default=0)
    c.add_argument("--speed", type=float, default=0.0, help="1 = real time, 0 = as fast as possible")
    c.add_argument("--udp", help="send each frame as a datagram to HOST:PORT instead of stdout")
    a = ap.parse_args(argv)
    if a.cmd == "selftest":
        _selftest()
    else:
        _from_csv(a)


if __name__ == "__main__":
    main()
