#!/usr/bin/python3
"""One run, one machine: the daemon against plain PyTorch eager on the same cores, as ratios.

The machine may be shared, so only ratios measured in the same run mean anything. In order:
  1. eager peer (bench_model_python.py: the reference PRIMUS encoder + head, batch 128 and 1,
     torch threads 2 and 1; plain environment, then OMP_WAIT_POLICY=PASSIVE)
  2. the daemon's Classifier (bench_model): native path and LibTorch modules at batch 1 and 128,
     1 and 2 intra-op threads, and model.instances = 2 (two single-threaded callers, one model)
  3. the whole daemon at saturation (load_daemon.py, --saturation devices, default 1024 at 100 Hz,
     window 250, hop 10, max_batch 128, every window scored and published), then at --devices
     (default 64) for latency, and, with --train, the same while a full fine-tune runs
  4. the eager peer again. The figure compared is the best eager one (either run, either thread
     count, either wait policy): on a busy 2-core machine two spinning OpenMP threads can collapse,
     and the daemon should not win by that.
and prints the ratios of the issue ("Throughput at the hardware's limit").

  /usr/bin/python3 bench/compare_eager.py [--build build] [--seconds 20] [--train] [--json OUT]
"""
import argparse, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def eager(args, tag, env=None):
    out = os.path.join(args.tmp, f"eager_{tag}.json")
    subprocess.run([sys.executable, os.path.join(HERE, "bench_model_python.py"), "--threads", "1",
                    "2", "--batches", "1", "128", "--seconds", str(args.model_seconds), "--json", out],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    with open(out) as f:
        return {(r["batch"], r["threads"]): r for r in json.load(f)}


def classifier(args):
    out = os.path.join(args.tmp, "bench_model.json")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    subprocess.run([os.path.join(args.build, "bench", "bench_model"),
                    "--benchmark_filter=bm_predict/native:[01]/batch:(1|128)/|bm_instances/batch:128",
                    "--benchmark_format=json", f"--benchmark_out={out}"],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    with open(out) as f:
        rows = json.load(f)["benchmarks"]
    res = {}
    for r in rows:
        name = re.sub(r"/min_time:[0-9.]+", "", r["name"]).replace("/real_time", "")
        res[name] = {"windows_per_s": r["items_per_second"], "ms": r["real_time"]}
    return res


def daemon(args, devices, train=False):
    out = os.path.join(args.tmp, f"load_{devices}_{int(train)}.json")
    cmd = [sys.executable, os.path.join(HERE, "load_daemon.py"), "--primusd",
           os.path.join(args.build, "daemon", "primusd"), "--devices", str(devices),
           "--seconds", str(args.seconds), "--json", out, "--instances", str(args.instances),
           "--threads", "1", "--backend", args.backend]
    if train:
        cmd.append("--train")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=20, help="per daemon measurement")
    ap.add_argument("--model-seconds", type=float, default=3, help="per model case")
    ap.add_argument("--saturation", type=int, default=1024, help="devices for the saturation run")
    ap.add_argument("--devices", type=int, default=64, help="devices for the latency run")
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--backend", default="native")
    ap.add_argument("--train", action="store_true", help="also measure latency while fine-tuning")
    ap.add_argument("--tuned-peer", action="store_true",
                    help="also run eager with OPENBLAS_CORETYPE=SkylakeX (AVX-512 GEMM; not plain)")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()
    args.tmp = tempfile.mkdtemp(prefix="primus_compare_")

    with open("/proc/loadavg") as f:
        load0 = f.read().split()[0]
    e1 = eager(args, "before")
    ep = eager(args, "passive", {"OMP_WAIT_POLICY": "PASSIVE"})
    clf = classifier(args)
    sat = daemon(args, args.saturation)
    lat = daemon(args, args.devices)
    trn = daemon(args, args.devices, train=True) if args.train else None
    e2 = eager(args, "after")
    tuned = eager(args, "tuned", {"OPENBLAS_CORETYPE": "SkylakeX"}) if args.tuned_peer else None
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[0]

    runs = [e1, ep, e2]
    eager128 = max(r[(128, t)]["windows_per_s"] for r in runs for t in (1, 2))
    eager1_ms = min(r[(1, t)]["median_ms"] for r in runs for t in (1, 2))
    nat = lambda b, t: clf[f"bm_predict/native:1/batch:{b}/threads:{t}"]
    lt = lambda b, t: clf[f"bm_predict/native:0/batch:{b}/threads:{t}"]
    inst = clf["bm_instances/batch:128/threads:2"]["windows_per_s"]
    print(f"load average {load0} before, {load1} after (2 cores; other work on the machine "
          f"lowers every figure, ratios are what counts)")
    print(f"\neager peer compared: {eager128:.0f} windows/s at batch 128 (the best eager figure), "
          f"{eager1_ms:.2f} ms at batch 1 (the best)")
    print("\n| what | windows/s | ms per call | vs best eager b128 |\n|---|---|---|---|")
    rows = []
    for b in (128, 1):
        for t in (2, 1):
            rows.append((f"eager PyTorch, batch {b}, {t} thread(s) (before / passive / after)",
                         " / ".join(f"{r[(b, t)]['windows_per_s']:.0f}" for r in runs),
                         " / ".join(f"{r[(b, t)]['median_ms']:.1f}" for r in runs),
                         " / ".join(f"{r[(b, t)]['windows_per_s'] / eager128:.2f}" for r in runs)
                         if b == 128 else ""))
    if tuned:
        for b in (128, 1):
            rows.append((f"eager PyTorch, batch {b}, 2 threads, OPENBLAS_CORETYPE=SkylakeX (not plain)",
                         f"{tuned[(b, 2)]['windows_per_s']:.0f}", f"{tuned[(b, 2)]['median_ms']:.1f}",
                         f"{tuned[(b, 2)]['windows_per_s'] / eager128:.2f}" if b == 128 else ""))
    for b in (128, 1):
        for t in (1, 2):
            rows.append((f"Classifier, LibTorch modules, batch {b}, {t} thread(s)",
                         f"{lt(b, t)['windows_per_s']:.0f}", f"{lt(b, t)['ms']:.2f}",
                         f"{lt(b, t)['windows_per_s'] / eager128:.2f}" if b == 128 else ""))
            rows.append((f"Classifier, native, batch {b}, {t} thread(s)",
                         f"{nat(b, t)['windows_per_s']:.0f}", f"{nat(b, t)['ms']:.2f}",
                         f"{nat(b, t)['windows_per_s'] / eager128:.2f}" if b == 128 else ""))
    rows.append(("Classifier, native, batch 128, 2 instances x 1 thread", f"{inst:.0f}", "",
                 f"{inst / eager128:.2f}"))
    rows.append((f"whole daemon, {args.saturation} devices (offered {sat['offered_windows_per_s']:.0f}/s)",
                 f"{sat['served_windows_per_s']:.0f}", "", f"**{sat['served_windows_per_s'] / eager128:.2f}**"))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n| daemon run | served/s | mean batch | p50 ms | p99 ms | max ms | drops | CPU % | RSS MB |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for name, r in [(f"{args.saturation} devices", sat), (f"{args.devices} devices", lat)] + \
            ([(f"{args.devices} devices + fine-tune", trn)] if trn else []):
        print(f"| {name} | {r['served_windows_per_s']:.1f} | {r['mean_batch']:.1f} | {r['p50_ms']:.1f} | "
              f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['dropped']} | {r['cpu_percent']:.0f} | {r['rss_mb']:.0f} |")
    print(f"\nratios: daemon at saturation / eager b128 = {sat['served_windows_per_s'] / eager128:.2f} "
          f"(goal >= 1.2); native batch-1 {nat(1, 1)['ms']:.2f} ms vs eager batch-1 {eager1_ms:.2f} ms "
          f"= {eager1_ms / nat(1, 1)['ms']:.2f}x faster (goal >= 1); p99 at {args.devices} devices "
          f"{lat['p99_ms']:.1f} ms (goal <= 30)" +
          (f"; p99 while fine-tuning / idle = {trn['p99_ms'] / lat['p99_ms']:.2f} (goal <= 2)"
           f"{'' if trn['training'] else ' (the fine-tune did not run the whole window!)'}" if trn else ""))
    if args.json:
        with open(args.json, "w") as f:
            key = lambda r: {f"b{b}_t{t}": v for (b, t), v in r.items()}
            json.dump({"eager_before": key(e1), "eager_passive": key(ep), "eager_after": key(e2),
                       "classifier": clf, "saturation": sat,
                       "latency": lat, "train": trn, "tuned_peer": key(tuned) if tuned else None, "load": [load0, load1]},
                      f, indent=1)


if __name__ == "__main__":
    main()
