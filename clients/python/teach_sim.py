#!/usr/bin/python3
"""Teach primusd the simulator's gestures over the control API, then score it.

The simulated devices publish what they really do on `truth.<device>` (docs/events.md). This
client is the "user" of the demo:

  1. teaching: for --teach seconds, every gesture a device performs is labelled with
     label.mark (its exact host-time span), and idle stretches long enough to hold a window are
     labelled "null";
  2. fine-tuning: finetune.run with wait=true; prints the gate's decision and metrics;
  3. evaluation: for --evaluate seconds, prints each gesture event next to what the device was
     really doing, then a confusion summary (truth x detected) over the gestures performed, the
     events outside any gesture, and how long after a gesture's end its start message arrived.

Windows holding only part of a gesture, or the idle between two, are taught as null by the daemon
itself from each capture's context (training.negatives, docs/training.md "Negatives").

Usage: teach_sim.py --control ENDPOINT --events ENDPOINT [--teach 60] [--evaluate 60]
"""
import argparse
import json
import math
import sys
import time
import uuid
from collections import namedtuple

import zmq

Truth = namedtuple("Truth", "device label t0 t1")  # what a simulated device did (host ns)
# A gesture event: onset/offset (host ns), and when its start message arrived here (or None).
Event = namedtuple("Event", "device label onset offset confidence started_ns")


class Control:
    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

        self.pending = {}  # request id -> what send() was given, for replies collected later

    def send(self, method, params=None, tag=None):
        """Sends a request without waiting; its reply comes back from replies()."""
        rid = uuid.uuid4().hex[:8]
        body = {"id": rid, "method": method, "params": params or {}}
        self.sock.send_multipart([b"", json.dumps(body).encode()])
        self.pending[rid] = tag
        return rid

    def replies(self, timeout_ms=0):
        """(tag, reply) of every pending request answered so far."""
        out = []
        while self.pending and self.sock.poll(timeout_ms):
            reply = json.loads(self.sock.recv_multipart()[-1])
            if reply.get("id") in self.pending:
                out.append((self.pending.pop(reply["id"]), reply))
            timeout_ms = 0
        return out

    def call(self, method, params=None, timeout_s=30.0):
        rid = self.send(method, params)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sock.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
                reply = json.loads(self.sock.recv_multipart()[-1])
                if reply.get("id") == rid:
                    self.pending.pop(rid, None)
                    return reply
        self.pending.pop(rid, None)
        raise TimeoutError(f"no reply to {method} within {timeout_s} s")


def truth_spans(msg):
    return Truth(msg["device"], msg["label"], msg["t_start_host_ns"], msg["t_end_host_ns"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--control", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--teach", type=float, default=60.0, help="seconds of teaching")
    ap.add_argument("--evaluate", type=float, default=60.0, help="seconds of evaluation")
    ap.add_argument("--lag", type=float, default=2.6,
                    help="how long after a gesture its event may start (s): window length + a hop")
    ap.add_argument("--min-null", type=float, default=2.6, help="shortest idle stretch labelled null (s)")
    args = ap.parse_args()

    ctx = zmq.Context()
    ctl = Control(ctx, args.control)
    sub = ctx.socket(zmq.SUB)
    sub.connect(args.events)
    sub.setsockopt_string(zmq.SUBSCRIBE, "truth.")
    sub.setsockopt_string(zmq.SUBSCRIBE, "gesture.")
    sub.setsockopt_string(zmq.SUBSCRIBE, "training")

    for _ in range(100):  # wait for the daemon
        try:
            ctl.call("status", timeout_s=1.0)
            break
        except TimeoutError:
            pass

    print(f"== teaching for {args.teach:.0f} s: labelling what the simulated devices do", flush=True)
    end = time.monotonic() + args.teach
    counts = {}

    def collect(timeout_ms=0):
        # label.mark replies once the capture, with a window of context after the gesture, is
        # durable: the requests are pipelined, so teaching never waits for one.
        for (dev, label), r in ctl.replies(timeout_ms):
            if r["ok"]:
                counts[label] = counts.get(label, 0) + 1
                res = r["result"]
                print(f"   label {label:7s} on {dev:12s} {res['seconds']:.2f} s -> capture {res['capture_id']}"
                      f" ({res['windows']} windows)", flush=True)
            else:
                print(f"   label {label} on {dev} refused: {r['error']['message']}", flush=True)

    while time.monotonic() < end:
        collect()
        if not sub.poll(200):
            continue
        topic, body = sub.recv_multipart()
        msg = json.loads(body)
        if msg.get("type") != "truth":
            continue
        dev, label, t0, t1 = truth_spans(msg)
        if label == "null" and (t1 - t0) / 1e9 < args.min_null:
            continue
        ctl.send("label.mark", {"device": dev, "label": label, "from_host_ns": t0, "to_host_ns": t1},
                 tag=(dev, label))
    deadline = time.monotonic() + 30
    while ctl.pending and time.monotonic() < deadline:
        collect(200)
    print("== taught: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), flush=True)

    print("== fine-tuning (finetune.run, wait)...", flush=True)
    t = time.monotonic()
    r = ctl.call("finetune.run", {"wait": True}, timeout_s=3600)
    if not r["ok"]:
        print(f"   fine-tuning failed: {r['error']['code']}: {r['error']['message']}")
        return 1
    res = r["result"]
    m = res["metrics"]
    print(f"   {res['decision'].upper()}: version {res['candidate_version']}, validation macro-F1 "
          f"{m['val_macro_f1']:.3f} vs live {m['live_val_macro_f1']:.3f}, {m['train_windows']} train / "
          f"{m['val_windows']} val windows, {m['epochs_run']} epochs, {time.monotonic() - t:.1f} s", flush=True)
    cal = m.get("calibration")
    if cal:  # per-class post-processing chosen on the validation captures (docs/events.md)
        print(f"   calibration ({cal['rule']}): validation event F1 {cal['before']['event_f1']:.3f} -> "
              f"{cal['after']['event_f1']:.3f}", flush=True)
        for label, c in sorted(cal["classes"].items()):
            print(f"     {label:7s} F1 {c['before_f1']:.2f} -> {c['after_f1']:.2f}: onset {c['onset_threshold']}, "
                  f"release {c['release_threshold']}, smoothing {c['smoothing_windows']}, "
                  f"min {c['min_duration_ms']} ms", flush=True)

    print(f"== evaluating for {args.evaluate:.0f} s: gesture events vs. what the devices really did", flush=True)
    # Drop what queued during training, but keep the gestures that ended within --lag before the
    # evaluation: windows still holding them may announce them now. Events they explain are
    # neither counted as recognised nor as outside any gesture.
    t_eval_start = time.monotonic_ns()
    before = []
    while sub.poll(0):
        msg = json.loads(sub.recv_multipart()[1])
        if msg.get("type") == "truth" and msg["label"] != "null" and \
                msg["t_end_host_ns"] > t_eval_start - int(args.lag * 1e9):
            before.append(truth_spans(msg))
    truths, events = [], []
    # (device, seq) -> (when its start message arrived here, CLOCK_MONOTONIC ns; the message), for
    # events whose end message has not come yet
    started = {}

    def messages(seconds):
        """The bus's messages for `seconds`, decoded."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if sub.poll(200):
                yield json.loads(sub.recv_multipart()[1])

    after = set()  # events that began after the evaluation: counted only when they match

    def add_event(msg, late, started_ns):
        if late and msg["onset"]["t_host_ns"] >= t_eval_end:
            after.add(len(events))
        events.append(Event(msg["device"], msg["label"], msg["onset"]["t_host_ns"], msg["offset"]["t_host_ns"],
                            msg["confidence"], started_ns))

    def take(msg, late):
        if msg.get("type") != "gesture":
            return
        key = (msg["device"], msg["seq"])
        if msg.get("phase") == "start":
            started[key] = (time.monotonic_ns(), msg)
            if not late:
                print(f"   start {msg['label']:7s} on {msg['device']:12s}", flush=True)
            return
        add_event(msg, late, started.pop(key, (None, None))[0])
        if not late:
            print(f"   event {msg['label']:7s} on {msg['device']:12s} confidence {msg['confidence']:.2f}", flush=True)

    for msg in messages(args.evaluate):
        if msg.get("type") == "truth" and msg["label"] != "null":
            truths.append(truth_spans(msg))
        take(msg, False)
    # A gesture's truth is published when it ends, its end message when the windows let go of it:
    # wait --lag for the truths of gestures that were still going on when the evaluation ended,
    # and for the end messages of events still open (those that began after the evaluation count
    # only when they match one of those gestures).
    t_eval_end = time.monotonic_ns()
    for msg in messages(args.lag):
        if msg.get("type") == "truth" and msg["label"] != "null" and msg["t_start_host_ns"] < t_eval_end:
            truths.append(truth_spans(msg))
        take(msg, True)
    # A gesture still going on at the end of the lag has had only its start message: that is what
    # a subscriber acts on, so it counts (with the onset and confidence it announced).
    for started_ns, msg in started.values():
        add_event(msg, True, started_ns)
        print(f"   start {msg['label']:7s} on {msg['device']:12s} (its end message is still to come: counted from "
              f"its start)", flush=True)

    # An event's onset is the END of the first window that voted for it: it comes after the
    # motion by up to a window. A gesture is matched to an unused event of its device whose onset
    # lies in [start, end + lag]: one with its label if there is one, else the first (confusion).
    labels = sorted({t.label for t in truths} | {e.label for e in events})
    confusion = {}
    used = set()
    missed = []
    earlier = 0  # events of gestures that ended before the evaluation began
    latencies = []  # s from a recognised gesture's end to its start message reaching this client
    lag = int(args.lag * 1e9)

    def pick_event(t, any_label):
        """The unused event that `t` matches (its label first; any label if any_label), or None."""
        cands = [k for k, e in enumerate(events)
                 if k not in used and e.device == t.device and t.t0 <= e.onset <= t.t1 + lag]
        same = [k for k in cands if events[k].label == t.label]
        return same[0] if same else (cands[0] if cands and any_label else None)

    for t in truths:
        pick = pick_event(t, True)
        if pick is None:
            missed.append(t)
            hit = "(missed)"
        else:
            used.add(pick)
            e = events[pick]
            hit = e.label
            if e.started_ns is not None and e.label == t.label:
                latencies.append((e.started_ns - t.t1) / 1e9)
        confusion[(t.label, hit)] = confusion.get((t.label, hit), 0) + 1
    for t in before:  # unscored: the evaluation began after them
        pick = pick_event(t, False)
        if pick is not None:
            used.add(pick)
            earlier += 1
    spurious = len([k for k in range(len(events)) if k not in used and k not in after])
    for k, e in enumerate(events):
        if k in used or k in after:
            continue
        t = min((t for t in truths if t.device == e.device), key=lambda t: abs(e.onset - t.t1), default=None)
        what = ""
        if t:
            what = f"; nearest gesture on it: {t.label} {(t.t0 - e.onset) / 1e9:+.1f} .. {(t.t1 - e.onset) / 1e9:+.1f} s"
        print(f"   outside any gesture: {e.label} on {e.device} (onset {(e.onset - t_eval_end) / 1e9:+.1f} s from "
              f"the end of the evaluation, {(e.offset - e.onset) / 1e9:.1f} s long, confidence {e.confidence:.2f}{what})")
    for t in missed:
        e = min((e for e in events if e.device == t.device), key=lambda e: abs(e.onset - t.t0), default=None)
        what = f"; nearest event on it: {e.label} at {(e.onset - t.t0) / 1e9:+.1f} s" if e else ""
        print(f"   missed: {t.label} on {t.device} ({(t.t0 - t_eval_end) / 1e9:+.1f} s from the end of the evaluation, "
              f"{(t.t1 - t.t0) / 1e9:.1f} s long{what})")
    cols = labels + ["(missed)"]
    print("== confusion summary (rows: performed, columns: detected)")
    print("   " + " " * 8 + "".join(f"{c:>10s}" for c in cols))
    right = 0
    for t in labels:
        if not any(k[0] == t for k in confusion):
            continue
        print("   " + f"{t:8s}" + "".join(f"{confusion.get((t, c), 0):>10d}" for c in cols))
        right += confusion.get((t, t), 0)
    print(f"   recognised {right} of {len(truths)} gestures; {spurious} events outside any gesture"
          + (f" ({earlier} more of gestures that ended before the evaluation began, not counted)" if earlier else ""),
          flush=True)
    if latencies:
        latencies.sort()
        pct = lambda q: latencies[max(0, math.ceil(q * len(latencies)) - 1)]  # noqa: E731 (nearest rank)
        print(f"   start message after the gesture's end: p50 {pct(0.5):+.2f} s, p95 {pct(0.95):+.2f} s "
              f"(over {len(latencies)} recognised gestures; negative: before the end)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
