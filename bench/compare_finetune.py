#!/usr/bin/env python3
"""The daemon's fine-tune against a hand-written PyTorch loop (bench/peer_finetune.py), on the
same captures and the same held-out recording, scored by the same chain (`primusctl evaluate`):
window accuracy, event F1, fragments, false events, seconds to train.

Datasets:
  arduino  the real Arduino punch/flex gestures of ../shared/data, split by gesture (even ones to
           train, odd ones to test, and the reverse as a second fold), each turned into a stream
           with rests by tools/labelled_stream.py
  sim      the built-in simulator (primus-model simulate): 600 s to train, 300 s to test
  sim-activity
           the simulator's activities (--activity-seconds 10: each gesture repeated for 7.5-12.5 s,
           rests of 2-5 s): 600 s to train (about 11 per class), 600 s to test
  sim-strokes
           the simulator's strokes (--activity-seconds 3: each gesture repeated for 2.25-3.75 s,
           rests of 2-5 s, the regime of sports strokes between rests): 600 s to train (about 23
           per class), 600 s to test

    /usr/bin/python3 bench/compare_finetune.py --build build --data ../shared/data --what arduino sim

--window-length / --window-hop set the [window] of every run (training and the loop use the
length; the hop is the live window rate evaluate replays at; training windows keep
training.stride). The issue's latency goals are stated at a hop of 0.1 s: --window-hop 5.

Prints a table per dataset and, with --json FILE, writes every figure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The simulator's datasets: name -> (--activity-seconds, seconds held out, title of its table).
SIM_SETS = {"sim": (0, 300, "simulator"),
            "sim-activity": (10, 600, "simulator activities (10 s)"),
            "sim-strokes": (3, 600, "simulator strokes (3 s)")}
ROOT = os.path.dirname(HERE)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


def evaluate(ctl, test, cfg, device, weights):
    return json.loads(run([ctl, "evaluate", test, "-c", cfg, "-d", device, "--weights", weights,
                           "--json"]))


def one_fold(a, work, train, test, cfg, device, labels):
    ctl = os.path.join(a.build, "daemon", "primusctl")
    model = os.path.join(a.build, "daemon", "primus-model")
    db = os.path.join(work, "train.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    run([ctl, "captures", "import", train, "-c", cfg, "-d", device, "--db", db])
    rows = {}
    for mode in a.modes:
        out = os.path.join(work, mode + ".safetensors")
        t0 = time.time()
        ft = json.loads(run([model, "finetune", "--db", db, "-c", cfg, "--mode", mode, "--out", out,
                             "--json", "--training", f"threads={a.threads}",
                             *[x for kv in a.training for x in ("--training", kv)]]))
        wall = time.time() - t0
        ev = evaluate(ctl, test, cfg, device, out)
        rows["primusd " + mode] = {"train_s": ft["seconds"], "wall_s": wall,
                                   "epochs": ft["epochs_run"], "eval": ev}
    if a.no_peer:
        return rows
    out = os.path.join(work, "peer.safetensors")
    t0 = time.time()
    peer = json.loads(run(["/usr/bin/python3", os.path.join(HERE, "peer_finetune.py"), "--db", db,
                           "--labels", ",".join(labels), "--out", out, "--epochs", str(a.peer_epochs),
                           *(["--length", str(a.window_length)] if a.window_length else []),
                           "--threads", str(a.threads)]))
    rows["pytorch loop"] = {"train_s": peer["seconds"], "wall_s": time.time() - t0,
                            "epochs": peer["epochs"], "eval": evaluate(ctl, test, cfg, device, out)}
    return rows


def summarise(name, folds):
    print(f"\n{name}: {len(folds)} fold(s), figures summed over folds (accuracy pooled)")
    print(f"{'model':<16} {'win acc':>8} {'ev F1':>6} {'det':>5} {'segs':>5} {'false':>6} "
          f"{'frag':>5} {'wrong':>5} {'null/10min':>10} {'train s':>8} {'end→start p50/p95 s':>20} "
          f"{'start→start p50':>15}")
    out = {}
    for key in folds[0]:
        n = ok = det = segs = false = frag = wrong = in_null = 0
        secs = null_h = 0.0
        # Latency (of the start message) per fold, averaged: each fold's p50/p95 over its gestures.
        lat = [f[key]["eval"]["events"].get("latency_from_end", {}) for f in folds]
        lat0 = [f[key]["eval"]["events"].get("latency_from_start", {}) for f in folds]
        mean = lambda xs, k: sum(x.get(k, 0) for x in xs) / len(xs)  # noqa: E731
        for f in folds:
            w, e = f[key]["eval"]["windows"], f[key]["eval"]["events"]
            n += w["n"]
            ok += round(w["accuracy"] * w["n"])
            det += e["detected"]
            segs += e["segments"]
            false += e["false_events"]
            frag += e["fragments"]
            wrong += e["wrong_label"]
            in_null += e["in_null"]
            null_h += e["null_hours"]
            secs += f[key]["train_s"]
        p = det / (det + false) if det + false else 0
        r = det / segs if segs else 0
        f1 = 2 * p * r / (p + r) if p + r else 0
        acc = ok / n if n else 0
        # False events in null per 10 minutes of null (the rest criterion: at most 1).
        per10 = in_null / (null_h * 6) if null_h else 0
        out[key] = {"window_accuracy": acc, "event_f1": f1, "detected": det, "segments": segs,
                    "false_events": false, "fragments": frag, "wrong_label": wrong,
                    "in_null": in_null, "null_minutes": null_h * 60, "in_null_per_10_min": per10,
                    "train_seconds": secs,
                    "latency_from_end_p50_s": mean(lat, "p50_s"),
                    "latency_from_end_p95_s": mean(lat, "p95_s"),
                    "latency_from_start_p50_s": mean(lat0, "p50_s")}
        print(f"{key:<16} {acc:>8.3f} {f1:>6.3f} {det:>5} {segs:>5} {false:>6} {frag:>5} "
              f"{wrong:>5} {per10:>10.2f} {secs:>8.1f} {mean(lat, 'p50_s'):>10.2f}/{mean(lat, 'p95_s'):<9.2f} "
              f"{mean(lat0, 'p50_s'):>15.2f}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--what", nargs="+", default=["arduino", "sim"], choices=["arduino", *SIM_SETS])
    ap.add_argument("--modes", nargs="+", default=["head", "full", "staged"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--peer-epochs", type=int, default=15)
    ap.add_argument("--no-peer", action="store_true", help="leave out the PyTorch loop")
    ap.add_argument("--training", action="append", default=[], metavar="KEY=VALUE",
                    help="a [training] key for the daemon's runs (e.g. negatives=false); repeatable")
    ap.add_argument("--window-length", type=int, help="[window] length in model samples (default: the config's 250)")
    ap.add_argument("--window-hop", type=int, help="[window] hop in model samples for evaluation (default: the config's 10)")
    ap.add_argument("--events", action="append", default=[], metavar="KEY=VALUE",
                    help="an [events] key (TOML value) written into the generated configs, e.g. "
                         "latency_budget_ms=250; a calibrated key set so holds for every class; "
                         "repeatable")
    ap.add_argument("--json", help="write every figure here")
    a = ap.parse_args(argv)
    window = ""
    if a.window_length or a.window_hop:
        window = "[window]\n" + (f"length = {a.window_length}\n" if a.window_length else "") + \
            (f"hop = {a.window_hop}\n" if a.window_hop else "")
    if a.events:
        window += "[events]\n" + "".join(kv.replace("=", " = ", 1) + "\n" for kv in a.events)
    results = {}
    with tempfile.TemporaryDirectory(prefix="primus-compare-") as work:
        if "arduino" in a.what:
            d = os.path.join(a.data, "arduino-punch-flex")
            cfg = os.path.join(work, "arduino.toml")
            with open(cfg, "w") as f:
                f.write(window + '[model]\nlabels = ["null", "punch", "flex"]\n[[devices]]\nid = "arduino"\n'
                        'adapter = "replay"\npath = "/dev/null"\nrate_hz = 119\nacc_unit = "g"\n'
                        'gyro_unit = "deg/s"\nacc_columns = ["aX", "aY", "aZ"]\n'
                        'gyro_columns = ["gX", "gY", "gZ"]\n')
            folds = []
            for k, (tr, te) in enumerate((("even", "odd"), ("odd", "even"))):
                paths = []
                for take, seed in ((tr, 1 + k), (te, 11 + k)):
                    p = os.path.join(work, f"arduino-{take}-{seed}.csv")
                    with open(p, "w") as f:
                        f.write(run([sys.executable, os.path.join(ROOT, "tools", "labelled_stream.py"),
                                     "--take", take, "--seed", str(seed),
                                     f"punch={d}/punch.csv", f"flex={d}/flex.csv"]))
                    paths.append(p)
                folds.append(one_fold(a, work, paths[0], paths[1], cfg, "arduino",
                                      ["null", "punch", "flex"]))
            results["arduino"] = {"folds": folds, "summary": summarise("arduino punch/flex", folds)}
        for what, (act, test_s, name) in SIM_SETS.items():
            if what not in a.what:
                continue
            model = os.path.join(a.build, "daemon", "primus-model")
            cfg = os.path.join(work, "sim.toml")
            with open(cfg, "w") as f:
                f.write(window + '[[devices]]\nid = "sim"\nadapter = "replay"\npath = "/dev/null"\n'
                        'rate_hz = 100\n')
            train = os.path.join(work, f"{what}-train.csv")
            test = os.path.join(work, f"{what}-test.csv")
            sim = [model, "simulate", "--activity-seconds", str(act)]
            run(sim + ["--seconds", "600", "--seed", "11", "--out", train])
            run(sim + ["--seconds", str(test_s), "--seed", "12", "--out", test])
            folds = [one_fold(a, work, train, test, cfg, "sim",
                              ["null", "wave", "circle", "shake", "tap"])]
            results[what] = {"folds": folds, "summary": summarise(name, folds)}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
