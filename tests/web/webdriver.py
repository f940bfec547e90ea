"""A small W3C WebDriver client over urllib (no Selenium): enough to drive Debian's headless
Chromium through chromedriver in the web console's tests and benchmark."""
import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_browser():
    """(chromium, chromedriver) paths, or None when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        return None
    return chromium, driver


class WebDriverError(RuntimeError):
    pass


class Driver:
    """One chromedriver process; sessions are created with session()."""

    def __init__(self, chromedriver, log_path=None):
        self.port = free_port()
        self.log = open(log_path or os.devnull, "wb")
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.request("GET", "/status").get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.1)
        raise WebDriverError("chromedriver did not become ready")

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                out = json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise WebDriverError(f"{method} {path}: HTTP {e.code}: {detail[:500]}") from None
        return out.get("value")

    def session(self, chromium, width=1400, height=1100):
        return Session(self, chromium, width, height)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Session:
    def __init__(self, driver, chromium, width, height):
        self.d = driver
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         "--disable-background-networking", "--disable-extensions",
                         f"--window-size={width},{height}"],
            },
        }}}
        v = driver.request("POST", "/session", caps)
        self.id = v["sessionId"]
        self.p = f"/session/{self.id}"

    def get(self, url):
        self.d.request("POST", self.p + "/url", {"url": url})

    def js(self, script, *args):
        return self.d.request("POST", self.p + "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        v = self.d.request("POST", self.p + "/element", {"using": "css selector", "value": css})
        return v[ELEMENT]

    def click(self, css):
        self.d.request("POST", self.p + f"/element/{self.find(css)}/click", {})

    def type(self, css, text, clear=True):
        e = self.find(css)
        if clear:
            self.d.request("POST", self.p + f"/element/{e}/clear", {})
        self.d.request("POST", self.p + f"/element/{e}/value", {"text": text})

    def screenshot(self, path):
        png = self.d.request("GET", self.p + "/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def wait(self, script, timeout=30, what=None, *args):
        """Poll a JS expression (`return ...;`) until it is truthy; returns its value."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.js(script, *args)
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what or script} "
                             f"(last value {last!r})")

    def close(self):
        try:
            self.d.request("DELETE", self.p)
        except WebDriverError:
            pass
