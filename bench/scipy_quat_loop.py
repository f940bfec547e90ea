#!/usr/bin/python3
"""The naive per-sample loop with SciPy's Rotation, for comparison with bench_signal's
bm_quat_rate: for each row of the phone recording, build a Rotation from the quaternion, then
inverse(previous) * current, as_rotvec() / dt (forward difference with real time steps).

    /usr/bin/python3 bench/scipy_quat_loop.py [--ours-ns NS] [--repeat N]

Prints ns per sample (best of --repeat runs) and, with --ours-ns, the ratio to our converter.
"""
import argparse
import csv
import os
import time

import numpy as np
from scipy.spatial.transform import Rotation

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "iphone-sensorlogger", "merged_100hz.csv")


def load(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        rows = [(float(x["seconds_elapsed"]), float(x["qw"]), float(x["qx"]), float(x["qy"]),
                 float(x["qz"])) for x in r]
    return rows


def naive_loop(rows):
    out = []
    prev = None
    t_prev = 0.0
    for t, w, x, y, z in rows:
        cur = Rotation.from_quat([x, y, z, w])  # SciPy is scalar-last
        if prev is not None:
            out.append((prev.inv() * cur).as_rotvec() / (t - t_prev))
        prev, t_prev = cur, t
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ours-ns", type=float, default=None,
                    help="our ns/sample (bench_signal bm_quat_rate) to print the ratio")
    a = ap.parse_args()
    rows = load(a.data)
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = naive_loop(rows)
        best = min(best, time.perf_counter() - t0)
    ns = best / len(rows) * 1e9
    # sanity: compare with the recorded gyro (forward difference, body frame)
    gyro = []
    with open(a.data, newline="") as f:
        for x in csv.DictReader(f):
            gyro.append((float(x["gyr_x"]), float(x["gyr_y"]), float(x["gyr_z"])))
    err = np.asarray(out) - np.asarray(gyro[:-1])
    print(f"scipy per-sample loop: {len(rows)} samples, {ns:.0f} ns/sample "
          f"(best of {a.repeat}); forward-difference RMS vs gyro "
          f"{np.sqrt((err ** 2).sum(axis=1).mean()):.3f} rad/s")
    if a.ours_ns:
        print(f"ratio scipy / ours: {ns / a.ours_ns:.0f}x")


if __name__ == "__main__":
    main()
