#!/usr/bin/env python3
"""Turn recordings of isolated gestures (the Arduino TinyML layout: a header, then gestures of
N rows separated by blank lines, one file per label) into one labelled CSV stream with rests
between the gestures, the layout `primusctl captures import` and `primusctl evaluate` read:

    t,aX,aY,aZ,gX,gY,gZ,label          (label empty in the rests)

Rests hold the boundary sample of the neighbouring gesture plus sensor noise (0.01 in the
accelerometer's unit, 1 in the gyro's), as bench/gesture_data.h does. Deterministic for a seed.

    tools/labelled_stream.py --rate 119 --rest 3 --take even \\
        punch=../shared/data/arduino-punch-flex/punch.csv \\
        flex=../shared/data/arduino-punch-flex/flex.csv > train.csv

--take even|odd|all picks gestures 0, 2, 4... or 1, 3, 5... of each file (a split by gesture);
the gestures of all files are interleaved (punch, flex, punch, ...) in the stream.
"""
import argparse
import random
import sys


def load(path):
    gestures, cur = [], []
    with open(path) as f:
        next(f)  # header
        for line in f:
            line = line.strip()
            if not line:
                if cur:
                    gestures.append(cur)
                cur = []
                continue
            cur.append([float(x) for x in line.split(",")[:6]])
    if cur:
        gestures.append(cur)
    return gestures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="LABEL=PATH")
    ap.add_argument("--rate", type=float, default=119.0, help="sample rate of the files (Hz)")
    ap.add_argument("--rest", type=float, default=3.0, help="mean rest between gestures (s)")
    ap.add_argument("--jitter", type=float, default=0.5, help="rest varies by +- this (s)")
    ap.add_argument("--take", choices=["even", "odd", "all"], default="all")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    per_label = []
    for spec in a.files:
        label, _, path = spec.partition("=")
        g = load(path)
        if a.take == "even":
            g = g[0::2]
        elif a.take == "odd":
            g = g[1::2]
        per_label.append((label, g))
    order = []
    for i in range(max(len(g) for _, g in per_label)):
        for label, g in per_label:
            if i < len(g):
                order.append((label, g[i]))
    out = sys.stdout
    out.write("t,aX,aY,aZ,gX,gY,gZ,label\n")
    n = 0

    def row(v, label):
        nonlocal n
        out.write("%.6f,%s,%s\n" % (n / a.rate, ",".join("%.4f" % x for x in v), label))
        n += 1

    def rest(hold, seconds):
        for _ in range(int(round(seconds * a.rate))):
            row([hold[c] + rng.gauss(0, 0.01 if c < 3 else 1.0) for c in range(6)], "")

    prev = None
    for label, g in order:
        r = a.rest + rng.uniform(-a.jitter, a.jitter)
        if prev is not None:
            rest(prev[-1], r / 2)
        rest(g[0], r / 2 if prev is not None else r)
        for v in g:
            row(v, label)
        prev = g
    if prev is not None:
        rest(prev[-1], a.rest)


if __name__ == "__main__":
    main()
