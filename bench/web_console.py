#!/usr/bin/env python3
"""The web console's cost and rates: the daemon's CPU with no browser, then with N headless
Chromium pages open on the console (default 3), and what the pages measured (chart redraws per
second, samples arriving per second per device). Peer: the same daemon in the same run without
browsers.

  bench/web_console.py [--browsers 3] [--seconds 30] [--build build]

Needs chromium and chromedriver (scripts/setup installs them). Prints a table and one JSON line.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "web"))
import webdriver  # noqa: E402

CONFIG = """
[daemon]
state_dir = "{d}/state"
runtime_dir = "{d}/run"
[model]
device = "cpu"
threads = 1
[window]
length = 125
hop = 5
[web]
listen = "127.0.0.1:{port}"
[[devices]]
id = "left-wrist"
adapter = "sim"
rate_hz = 100.0
[[devices]]
id = "right-wrist"
adapter = "sim"
rate_hz = 100.0
[[devices]]
id = "phone"
adapter = "sim"
rate_hz = 104.0
"""


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def measure(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.time() - t0) * 100.0  # % of one core


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--browsers", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    browser = webdriver.find_browser()
    if not browser:
        sys.exit("bench/web_console.py: chromium and chromedriver are needed (scripts/setup)")
    tmp = tempfile.mkdtemp(prefix="primus_web_bench_")
    port = webdriver.free_port()
    cfg = os.path.join(tmp, "bench.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(d=tmp, port=port))
    log = open(os.path.join(tmp, "primusd.log"), "wb")
    daemon = subprocess.Popen([os.path.join(a.build, "daemon", "primusd"), "-c", cfg],
                              stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    sessions, driver = [], None
    try:
        time.sleep(8)  # model load and warm-up
        idle = measure(daemon.pid, a.seconds)
        driver = webdriver.Driver(browser[1])
        for _ in range(a.browsers):
            s = driver.session(browser[0], 1400, 1000)
            s.get(f"http://127.0.0.1:{port}/")
            sessions.append(s)
        for s in sessions:
            s.wait("return window.primusConsole && window.primusConsole.stats.frames['phone'] > 50;",
                   30, "frames in every page")
        time.sleep(2)
        before = [s.js("return window.primusConsole.stats;") for s in sessions]
        t0 = time.time()
        watched = measure(daemon.pid, a.seconds)
        after = [s.js("return window.primusConsole.stats;") for s in sessions]
        dt = time.time() - t0
        pages = []
        for b, e in zip(before, after):
            pages.append({
                "draws_per_s": round((e["draws"] - b["draws"]) / dt, 1),
                "samples_per_s_per_device": {k: round((e["frames"][k] - b["frames"][k]) / dt, 1)
                                             for k in e["frames"]},
                "messages_per_s": round((e["messages"] - b["messages"]) / dt, 1),
            })
        status = json.loads(subprocess.run(
            [os.path.join(a.build, "daemon", "primusctl"), "status", "--json", "-c", cfg],
            capture_output=True, text=True, check=True).stdout)
        out = {"cpu_percent_no_browser": round(idle, 2),
               "cpu_percent_with_browsers": round(watched, 2),
               "extra_cpu_percent": round(watched - idle, 2), "browsers": a.browsers,
               "seconds": a.seconds, "pages": pages, "web": status.get("web")}
        print(f"daemon CPU, no browser:        {idle:6.2f} % of a core")
        print(f"daemon CPU, {a.browsers} browsers open:   {watched:6.2f} % of a core "
              f"(+{watched - idle:.2f})")
        for i, p in enumerate(pages):
            print(f"page {i}: {p['draws_per_s']} chart redraws/s, samples/s per device "
                  f"{p['samples_per_s_per_device']}, {p['messages_per_s']} messages/s")
        print(json.dumps(out))
    finally:
        for s in sessions:
            s.close()
        if driver:
            driver.close()
        daemon.terminate()
        daemon.wait(30)


if __name__ == "__main__":
    main()
