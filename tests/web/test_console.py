#!/usr/bin/env python3
"""The web console in a real browser: Debian's headless Chromium, driven over WebDriver, against the
real primusd with simulated devices.

  - the devices appear, their charts move (frames arrive and are drawn);
  - labelling from the page creates captures (start/stop and "mark the last N s"), which the page
    lists and deletes (one, then every capture of a label), durably;
  - a fine-tune started from the page runs, the page shows its progress and the gate's decision,
    the new version goes live; rollback from the page makes the parent live again;
  - gesture events show on the timeline;
  - a client that stops reading its stream is dropped, not waited for: the browser's stream and
    the API keep going;
  - off loopback, the token is enforced (API, login page, CSRF rules), and a config that binds
    off loopback without one is refused.

Screenshots and the measured page rates go to $PRIMUS_ARTIFACTS_DIR (default build/test-artifacts/
web). Exit 77 (skipped) only when chromium or chromedriver is not installed.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webdriver  # noqa: E402

PRIMUSD = os.environ.get("PRIMUSD_PATH", "build/daemon/primusd")
PRIMUSCTL = os.environ.get("PRIMUSCTL_PATH", "build/daemon/primusctl")
PRIMUS_MODEL = os.environ.get("PRIMUS_MODEL_PATH", "build/daemon/primus-model")
ARTIFACTS = os.environ.get("PRIMUS_ARTIFACTS_DIR", "build/test-artifacts/web")
BROWSER = webdriver.find_browser()

CONFIG = """
[daemon]
log_level = "info"
state_dir = "{dir}/state"
runtime_dir = "{dir}/run"
status_interval_s = 1.0

[model]
device = "cpu"
threads = 1

[window]
length = 125
hop = 5

[events]
onset_threshold = 0.5
release_threshold = 0.3
smoothing_windows = 3
margin = 0.1
min_duration_ms = 0

[training]
mode = "head"
epochs = 4
head_epochs = 2
stride = 10

[web]
listen = "{listen}"
{web_extra}

[[devices]]
id = "left-wrist"
adapter = "sim"
rate_hz = 100.0

[[devices]]
id = "right-wrist"
adapter = "sim"
rate_hz = 100.0
gestures = ["wave", "circle"]
"""


def wait_for(fn, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def http(method, url, body=None, headers=None):
    """(status, parsed JSON or text) without raising on HTTP errors."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class Daemon:
    def __init__(self, tmp, listen, web_extra="", name="primusd"):
        self.dir = tmp
        self.cfg = os.path.join(tmp, name + ".toml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=tmp, listen=listen, web_extra=web_extra))
        self.log_path = os.path.join(tmp, name + ".log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([PRIMUSD, "-c", self.cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.port = wait_for(self._port, 60, "the web console's URL in the log")
        return self

    def _port(self):
        if self.proc.poll() is not None:
            raise AssertionError("primusd exited early:\n" + self.text())
        for line in self.text().splitlines():
            if "web console on http://" in line:
                return int(line.split("web console on http://")[1].split("/")[0].rsplit(":", 1)[1])
        return None

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def call(self, method, params=None, host="127.0.0.1", headers=None):
        h = {"Content-Type": "application/json", "X-Primus-Request": "1"}
        h.update(headers or {})
        return http("POST", f"http://{host}:{self.port}/api/call/{method}", params or {}, h)

    def result(self, method, params=None, **kw):
        status, body = self.call(method, params, **kw)
        if status != 200:
            raise AssertionError(f"{method}: HTTP {status}: {body}")
        return body["result"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def non_loopback_ip():
    """An address of this machine that is not loopback (to reach a 0.0.0.0 listener), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
            ip = s.getsockname()[0]
            return None if ip.startswith("127.") else ip
    except OSError:
        return None


@unittest.skipIf(BROWSER is None, "chromium or chromedriver is not installed")
class ConsoleInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(prefix="primus_web_")
        cls.daemon = Daemon(cls.tmp, "127.0.0.1:0", "max_clients = 6\nclient_queue = 64")
        # Taught data: a labelled simulator recording imported as captures, so the fine-tune
        # started from the page has something real to learn (captures import is offline).
        os.makedirs(os.path.join(cls.tmp, "state"))
        sim = os.path.join(cls.tmp, "sim.csv")
        subprocess.run([PRIMUS_MODEL, "simulate", "--seconds", "150", "--seed", "5", "--out", sim],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([PRIMUSCTL, "captures", "import", sim, "-c", cls.daemon.cfg,
                        "-d", "left-wrist"], check=True, stdout=subprocess.DEVNULL)
        cls.daemon.start()
        cls.driver = webdriver.Driver(BROWSER[1], os.path.join(cls.tmp, "chromedriver.log"))
        cls.b = cls.driver.session(BROWSER[0])
        cls.b.js("window.confirm = () => true;")
        cls.url = f"http://127.0.0.1:{cls.daemon.port}/"
        cls.b.get(cls.url)
        cls.b.js("window.confirm = () => true;")
        cls.rates = {}

    @classmethod
    def tearDownClass(cls):
        try:
            with open(os.path.join(ARTIFACTS, "rates.json"), "w") as f:
                json.dump(cls.rates, f, indent=1)
            cls.b.close()
            cls.driver.close()
        finally:
            cls.daemon.stop()
            log = cls.daemon.text()
            with open(os.path.join(ARTIFACTS, "primusd.log"), "w") as f:
                f.write(log)

    def shot(self, name):
        self.b.screenshot(os.path.join(ARTIFACTS, name + ".png"))

    def stats(self):
        return self.b.js("return window.primusConsole.stats;")

    def test_1_devices_appear_and_charts_move(self):
        n = self.b.wait("return document.querySelectorAll('[data-device]').length;", 30,
                        "the device cards")
        self.assertEqual(n, 2)
        self.b.wait("const f = window.primusConsole.stats.frames;"
                    "return f['left-wrist'] > 100 && f['right-wrist'] > 100;", 30,
                    "frames of both devices")
        s0 = self.stats()
        time.sleep(3)
        s1 = self.stats()
        for dev in ("left-wrist", "right-wrist"):
            self.assertGreater(s1["frames"][dev], s0["frames"][dev], dev + "'s chart is still")
        self.assertGreater(s1["draws"], s0["draws"], "the charts are not redrawn")
        self.rates["chart_fps"] = s1["fps"]
        self.rates["samples_per_s_all_devices"] = s1["framesPerSecond"]
        # The live scores beside the charts and the device state from status.
        self.b.wait("return document.querySelector('[data-device=\"left-wrist\"] .scores')"
                    ".children.length > 0;", 20, "live scores")
        self.b.wait("return document.querySelector('[data-device=\"left-wrist\"] [data-state]')"
                    ".textContent === 'connected';", 20, "the device state")
        self.b.wait("return document.querySelector('[data-device=\"left-wrist\"] [data-rates]')"
                    ".textContent.includes('Hz');", 20, "the device rates")
        self.shot("devices")

    def test_2_labelling_creates_and_deletes_captures(self):
        rows = "return document.querySelectorAll('#captures tbody tr').length;"
        self.b.wait(rows, 20, "the imported captures listed")
        self.b.type("#teach-label", "probe")
        self.b.click("#teach-start")
        self.b.wait("return !document.querySelector('#teach-stop').disabled;", 10,
                    "Stop to be enabled")
        time.sleep(1.5)
        self.b.click("#teach-stop")
        probe_rows = ("return [...document.querySelectorAll('#captures tbody tr')]"
                      ".filter(r => r.children[2].textContent === 'probe').length;")
        self.b.wait(probe_rows, 20, "the labelled capture in the table")
        self.b.type("#mark-seconds", "2")
        self.b.click("#teach-mark")
        self.b.wait(probe_rows.replace(".length;", ".length >= 2;"), 20,
                    "the marked capture in the table")
        listed = self.daemon.result("captures.list", {"label": "probe"})["captures"]
        self.assertEqual(len(listed), 2)
        self.assertTrue(all(c["windows"] >= 1 for c in listed), listed)
        self.shot("teach")
        # Delete one from its row, then every capture of the label.
        first = listed[0]["id"]
        self.b.js("window.confirm = () => true;")
        self.b.click(f'#captures tr[data-capture="{first}"] button')
        self.b.wait(f"return !document.querySelector('#captures tr[data-capture=\"{first}\"]');",
                    20, "the deleted row to go")
        self.assertEqual(len(self.daemon.result("captures.list", {"label": "probe"})["captures"]), 1)
        self.b.js("const s = document.querySelector('#captures-filter');"
                  "s.value = 'probe'; s.dispatchEvent(new Event('change'));")
        self.b.wait("return !document.querySelector('#captures-delete-label').disabled;", 10,
                    "the delete-label button")
        self.b.click("#captures-delete-label")
        self.b.wait(probe_rows.replace(".length;", ".length === 0;"), 20, "no probe rows")
        self.assertEqual(self.daemon.result("captures.list", {"label": "probe"})["captures"], [])
        # A delete that names nothing is refused, never "everything".
        status, body = self.daemon.call("captures.delete", {})
        self.assertEqual(status, 400, body)
        self.assertGreater(len(self.daemon.result("captures.list")["captures"]), 0)

    def test_3_finetune_goes_live_events_show_and_rollback(self):
        self.b.js("document.querySelector('#train-mode').value = 'head';")
        self.b.click("#train-start")
        self.b.wait("const t = window.primusConsole.stats.lastTraining;"
                    "return t && t.event === 'progress';", 120, "training progress")
        self.b.wait("return document.querySelector('#train-detail').textContent.includes('epoch');",
                    30, "the progress shown")
        self.shot("training")
        decided = self.b.wait(
            "const t = window.primusConsole.stats.lastTraining;"
            "return t && ['accepted','rejected','failed','activated'].includes(t.event) && t.event;",
            300, "the gate's decision")
        self.assertIn(decided, ("accepted", "activated"),
                      self.b.js("return document.querySelector('#train-log').textContent;"))
        live = self.b.wait("const v = window.primusConsole.stats.activeVersion;"
                           "return v && v > 0 && v;", 60, "a new version live")
        self.b.wait(f"return !!document.querySelector('#models tr.active[data-version=\"{live}\"]');",
                    20, "the live version marked in the table")
        self.assertIn("accepted", self.b.js("return document.querySelector('#train-log').textContent;"))
        # Gesture events on the timeline (the simulator keeps gesturing).
        self.b.wait("return window.primusConsole.stats.timelineItems > 0;", 90,
                    "a gesture on the timeline")
        self.b.wait("return document.querySelectorAll('#events li').length > 0;", 10,
                    "the events list")
        self.shot("events")
        # Roll back from the page: the parent (the base model, version 0) is live again.
        self.b.click("#models-rollback")
        self.b.wait("return window.primusConsole.stats.activeVersion === 0;", 60, "the rollback")
        self.b.wait("return !!document.querySelector('#models tr.active[data-version=\"0\"]');",
                    20, "version 0 marked live")
        self.assertEqual(self.daemon.result("models.list")["active"], 0)
        self.shot("models")

    def test_4_a_client_that_stops_reading_is_dropped_not_waited_for(self):
        web0 = self.daemon.result("status")["web"]
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", self.daemon.port))
        s.sendall(f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{self.daemon.port}\r\n\r\n".encode())
        try:
            wait_for(lambda: self.daemon.result("status")["web"]["clients"] > web0["clients"],
                     10, "the stalled stream connected")
            frames0 = self.stats()["frames"]["left-wrist"]
            t0 = time.time()
            web = wait_for(
                lambda: (lambda w: w if w["write_failed"] + w["slow_disconnects"] >
                         web0["write_failed"] + web0["slow_disconnects"] else None)(
                    self.daemon.result("status")["web"]),
                120, "the stalled stream to be dropped")
            self.rates["stalled_client_dropped_after_s"] = round(time.time() - t0, 1)
            self.assertLessEqual(web["clients"], web0["clients"])
            # The browser's own stream went on meanwhile.
            self.assertGreater(self.stats()["frames"]["left-wrist"], frames0)
        finally:
            s.close()

    def test_5_too_many_streams_get_503(self):
        socks = []
        try:
            for _ in range(8):
                c = socket.create_connection(("127.0.0.1", self.daemon.port))
                c.sendall(f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                socks.append(c)
            time.sleep(1)
            statuses = []
            for c in socks:
                c.settimeout(5)
                statuses.append(c.recv(64).split(b" ")[1])
            self.assertIn(b"503", statuses)
            self.assertIn(b"200", statuses)
        finally:
            for c in socks:
                c.close()

    def test_6_rebinding_and_csrf_are_refused_on_loopback(self):
        base = f"http://127.0.0.1:{self.daemon.port}"
        status, _ = http("POST", base + "/api/call/status", {},
                         {"Host": "evil.example", "X-Primus-Request": "1"})
        self.assertEqual(status, 403)
        status, _ = http("POST", base + "/api/call/status", {}, {})
        self.assertEqual(status, 403, "a POST without X-Primus-Request")
        status, _ = http("POST", base + "/api/call/label.start",
                         {"device": "left-wrist", "label": "x"},
                         {"X-Primus-Request": "1", "Origin": "http://evil.example"})
        self.assertEqual(status, 403, "a cross-origin POST")
        status, body = http("GET", base + "/")
        self.assertEqual(status, 200)
        self.assertIn("primusd console", body)


@unittest.skipIf(BROWSER is None, "chromium or chromedriver is not installed")
class TokenOffLoopback(unittest.TestCase):
    def test_token_is_enforced(self):
        tmp = tempfile.mkdtemp(prefix="primus_web_token_")
        token = "t0k3n-for-the-browser-test"
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(token + "\n")
        # Refused at start without a token.
        bad = Daemon(tmp, "0.0.0.0:0", name="notoken")
        r = subprocess.run([PRIMUSD, "--check-config", bad.cfg], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("web.listen", r.stderr + r.stdout)
        self.assertIn("web.token", r.stderr + r.stdout)

        d = Daemon(tmp, "0.0.0.0:0", f'token_file = "{tmp}/token"', name="token").start()
        try:
            host = non_loopback_ip() or "127.0.0.1"
            base = f"http://{host}:{d.port}"
            hdr = {"Content-Type": "application/json", "X-Primus-Request": "1"}
            self.assertEqual(http("POST", base + "/api/call/status", {}, hdr)[0], 401)
            self.assertEqual(http("POST", base + "/api/call/status", {},
                                  dict(hdr, Authorization="Bearer wrong-token-xxxxxxxx"))[0], 401)
            self.assertEqual(http("GET", base + "/api/stream")[0], 401)
            ok, body = http("POST", base + "/api/call/status", {},
                            dict(hdr, Authorization="Bearer " + token))
            self.assertEqual(ok, 200, body)
            self.assertEqual(body["result"]["web"]["auth"], "token")
            self.assertEqual(http("POST", base + "/api/call/status", {},
                                  {"Authorization": "Bearer " + token})[0], 403,
                             "the token does not waive the CSRF header")
            self.assertNotIn(token, d.text(), "the token appeared in the log")

            drv = webdriver.Driver(BROWSER[1], os.path.join(tmp, "chromedriver.log"))
            b = drv.session(BROWSER[0])
            try:
                b.get(base + "/")
                b.wait("return !document.querySelector('#login').hidden;", 20, "the login form")
                b.screenshot(os.path.join(ARTIFACTS, "login.png"))
                b.type("#login-token", "not-the-token-at-all")
                b.click("#login-form button")
                b.wait("return document.querySelector('#login-error').textContent.length > 0;",
                       10, "the login error")
                b.type("#login-token", token)
                b.click("#login-form button")
                b.wait("return document.querySelectorAll('[data-device]').length === 2;", 20,
                       "the console after login")
                b.wait("return window.primusConsole.stats.frames['left-wrist'] > 10;", 20,
                       "frames after login")
            finally:
                b.close()
                drv.close()
            self.assertNotIn(token, d.text(), "the token appeared in the log")
        finally:
            d.stop()


if __name__ == "__main__":
    if BROWSER is None:
        print("test_console: chromium or chromedriver is not installed (scripts/setup installs "
              "them); skipped")
        sys.exit(77)
    unittest.main(verbosity=2)
