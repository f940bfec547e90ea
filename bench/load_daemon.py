#!/usr/bin/python3
"""Load generator for the whole daemon: N simulated devices at 100 Hz (hop 200 ms) through primusd,
measured from a ZeroMQ subscriber.

For each N it starts the real primusd on a generated config (sim devices, per-window score messages
on), lets it warm up, then for --seconds records every score message: windows/s served, latency
from the moment the window was complete in the daemon (t_ready_ns, CLOCK_MONOTONIC) to its arrival
at this subscriber (p50/p99/max), mean batch size and drops (from `status`), and the daemon's CPU
and RSS (from /proc). --baseline also runs each N with max_batch = 1 (one window at a time). --train labels captures on
16 devices over the control API, starts a fine-tune (mode full, many epochs, training.threads = 1)
and measures while it runs ("train" column: the trainer was running for the whole window).

  bench/load_daemon.py --primusd build/daemon/primusd --devices 1 16 64 256 512 --baseline
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time

import zmq


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = int(parts[11]) + int(parts[12])  # utime + stime
    rss_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return ticks / os.sysconf("SC_CLK_TCK"), rss_kb / 1024.0


def percentile(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def run(args, n, max_batch):
    d = tempfile.mkdtemp(prefix="primus_load_")
    ep = f"ipc://{d}/events.sock"
    cfg = os.path.join(d, "load.toml")
    with open(cfg, "w") as f:
        f.write(f"""[daemon]
log_level = "warn"
runtime_dir = "{d}"
state_dir = "{d}"
[model]
device = "{args.device}"
threads = {args.threads}
instances = {args.instances}
backend = "{args.backend}"
[window]
length = 250
hop = 10
[batcher]
max_batch = {max_batch}
max_delay_us = {args.max_delay_us}
queue = {max(4 * n, 256, max_batch)}
max_queue_delay_us = {args.max_queue_delay_us}
[events]
publish_scores = true
[bus]
publish = ["{ep}"]
sndhwm = 1000000
queue = 100000
[control]
listen = ["ipc://{d}/control.sock"]
[training]
mode = "{args.train_mode}"
epochs = 1000
patience = 1000
stride = 5
threads = 1
""")
        for i in range(n):
            f.write(f'[[devices]]\nid = "sim{i:04d}"\nadapter = "sim"\nrate_hz = 100.0\nseed = {i + 1}\n')
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    # Latency is sampled on up to --sample devices (zero-padded ids: no topic is a prefix of
    # another), so that this subscriber, on the same cores, does not steal the daemon's CPU;
    # throughput comes from the daemon's own counters (status).
    for i in range(min(n, args.sample)):
        sub.setsockopt_string(zmq.SUBSCRIBE, f"score.sim{i:04d}")
    sub.setsockopt_string(zmq.SUBSCRIBE, "status")
    sub.connect(ep)
    log = open(os.path.join(d, "primusd.log"), "w")
    p = subprocess.Popen([args.primusd, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        # Wait for the daemon (model load and warm-up), then let windows fill (5 s of data).
        t_ready_deadline = time.monotonic() + 300
        while True:
            if time.monotonic() > t_ready_deadline or p.poll() is not None:
                raise RuntimeError(f"primusd did not come up; see {d}/primusd.log")
            if sub.poll(100) and sub.recv_multipart()[0] == b"status":
                break
        t_end_warm = time.monotonic() + args.warmup
        while time.monotonic() < t_end_warm:
            if sub.poll(100):
                sub.recv_multipart()
        training = False
        if args.train:
            ctl = ctx.socket(zmq.DEALER)
            ctl.setsockopt(zmq.LINGER, 0)  # or ctx.term() below waits for it forever
            ctl.connect(f"ipc://{d}/control.sock")

            def call(method, params):
                ctl.send_multipart([b"", json.dumps({"method": method, "params": params}).encode()])
                if not ctl.poll(60000):
                    raise RuntimeError(f"no reply to {method}")
                r = json.loads(ctl.recv_multipart()[-1])
                if not r["ok"]:
                    raise RuntimeError(f"{method}: {r['error']}")
                return r["result"]

            for i in range(min(n, 16)):
                call("label.mark", {"device": f"sim{i:04d}", "label": "wave", "last_s": 1.5})
                call("label.mark", {"device": f"sim{i:04d}", "label": "null", "last_s": 6.0})
            call("finetune.run", {"wait": False})
            t_train = time.monotonic() + 5  # let the trainer load its copy and start its epochs
            while time.monotonic() < t_train:
                if sub.poll(100):
                    sub.recv_multipart()
            st = call("finetune.status", {})
            if st["state"] != "running":
                raise RuntimeError(f"the fine-tune is not running: {st['last']}")
        cpu0, _ = proc_stats(p.pid)
        lat, lat_end, n_scores, last_status = [], [], 0, None
        first_status = None
        t0 = time.monotonic()
        rss_max = 0.0
        next_rss = t0
        while time.monotonic() - t0 < args.seconds:
            if not sub.poll(100):
                continue
            topic, body = sub.recv_multipart()
            now = time.monotonic_ns()
            m = json.loads(body)
            if topic == b"status":
                last_status = m
                if first_status is None:
                    first_status = m
                continue
            n_scores += 1
            lat.append((now - m["t_ready_ns"]) / 1e6)
            lat_end.append((now - m["end"]["t_host_ns"]) / 1e6)
            if time.monotonic() > next_rss:
                rss_max = max(rss_max, proc_stats(p.pid)[1])
                next_rss = time.monotonic() + 1
        elapsed = time.monotonic() - t0
        if args.train:
            training = (first_status.get("training") or {}).get("state") == "running" and \
                (last_status.get("training") or {}).get("state") == "running"
        cpu1, rss = proc_stats(p.pid)
        rss_max = max(rss_max, rss)
        b0, b1 = first_status["batcher"], last_status["batcher"]
        i0, i1 = first_status["inference"], last_status["inference"]
        batches = i1["batches"] - i0["batches"]
        windows = i1["windows"] - i0["windows"]
        status_span = (last_status["uptime_s"] - first_status["uptime_s"]) or elapsed
        return {
            "devices": n, "max_batch": max_batch,
            "offered_windows_per_s": n * 50 / 10,
            "served_windows_per_s": windows / status_span,
            "sampled_windows": n_scores,
            "mean_batch": windows / batches if batches else float("nan"),
            "p50_ms": percentile(lat, 0.5), "p99_ms": percentile(lat, 0.99), "max_ms": max(lat) if lat else float("nan"),
            "p99_from_grid_ms": percentile(lat_end, 0.99),
            "dropped": (b1["dropped_overload"] - b0["dropped_overload"]) + (b1["expired"] - b0["expired"]),
            "cpu_percent": 100 * (cpu1 - cpu0) / elapsed, "rss_mb": rss_max,
            "training": training,
        }
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
        sub.close(0)
        ctx.destroy(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--primusd", default="build/daemon/primusd")
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 16, 64, 256, 512])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--threads", type=int, default=1, help="model.threads (per instance)")
    ap.add_argument("--instances", type=int, default=2, help="model.instances")
    ap.add_argument("--backend", default="native", help="model.backend: native | libtorch")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-batch", type=int, default=128)
    ap.add_argument("--max-delay-us", type=int, default=5000)
    ap.add_argument("--max-queue-delay-us", type=int, default=1000000)
    ap.add_argument("--baseline", action="store_true", help="also run each N with max_batch = 1")
    ap.add_argument("--sample", type=int, default=8, help="devices whose every window is timed")
    ap.add_argument("--json", help="write the rows here too")
    ap.add_argument("--train", action="store_true", help="measure while a fine-tune runs")
    ap.add_argument("--train-mode", default="full", help="head | full | staged")
    args = ap.parse_args()
    rows = []
    hdr = f"{'N':>4} {'batch':>5} {'offered/s':>9} {'served/s':>9} {'mean b':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'drops':>6} {'CPU %':>6} {'RSS MB':>7} {'train':>5}"
    print(hdr)
    for n in args.devices:
        for mb in ([args.max_batch, 1] if args.baseline else [args.max_batch]):
            r = run(args, n, mb)
            rows.append(r)
            print(f"{r['devices']:>4} {r['max_batch']:>5} {r['offered_windows_per_s']:>9.0f} {r['served_windows_per_s']:>9.1f} "
                  f"{r['mean_batch']:>6.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {r['dropped']:>6} "
                  f"{r['cpu_percent']:>6.0f} {r['rss_mb']:>7.0f} {'yes' if r['training'] else 'no':>5}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
