"""Open an HTML file in headless Chromium as a person would, and report what went wrong (not a test module itself).

Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages, each ended by
a NUL byte, on file descriptors 3 and 4), so no websocket client, Playwright or driver is needed. A page check
collects console errors, uncaught exceptions, failed loads and every request that is not a local file or a data:
URI (a report must open offline), measures every <img> (a missing or broken image has naturalWidth 0) and takes a
full-page screenshot.

setup/chromium.sh finds Chromium, or installs Debian's package as root; where it cannot, `chromium_or_skip` skips
the test, saying why.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-pipe"]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")

IMAGES = """JSON.stringify(Array.from(document.images).map(i => ({src: i.currentSrc.slice(0, 80), complete: i.complete,
                                                              width: i.naturalWidth})))"""


def chromium_or_skip() -> str:
    """The Chromium binary (installed by setup/chromium.sh when missing and possible), or a visible skip with the reason."""
    found = subprocess.run(["bash", str(REPO / "setup" / "chromium.sh")], capture_output=True, text=True, timeout=900)
    if found.returncode != 0:
        pytest.skip(f"no headless Chromium: {found.stderr.strip().splitlines()[-1] if found.stderr.strip() else 'setup/chromium.sh failed'}")
    return found.stdout.strip().splitlines()[-1]


@dataclass
class PageCheck:
    url: str
    screenshot: Path
    console_errors: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    title: str = ""
    height: int = 0

    @property
    def broken_images(self) -> list[dict]:
        return [i for i in self.images if not i["complete"] or i["width"] == 0]

    def problems(self) -> list[str]:
        return ([f"console: {e}" for e in self.console_errors] + [f"failed to load: {u}" for u in self.failed_loads]
                + [f"network request: {u}" for u in self.remote_requests] + [f"broken image: {i['src']}" for i in self.broken_images])


class Chromium:
    """One headless Chromium with a fresh profile, driven over the DevTools pipe."""

    def __init__(self, binary: str, timeout: float = 90.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="atac2expr-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # far above 4, so that placing them on 3 and 4 in the child overwrites nothing of theirs
        child_in, child_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (to_browser_r, from_browser_w))

        def place_pipes() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"], preexec_fn=place_pipes,
                                        pass_fds=(3, 4, child_in, child_out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for fd in (to_browser_r, from_browser_w, child_in, child_out):
            os.close(fd)
        self.writer, self.reader = to_browser_w, from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self.writer, self.reader):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.reader], [], [], left)
            if ready:
                chunk = os.read(self.reader, 1 << 20)
                if not chunk:
                    said = self.process.stderr.read().decode(errors="replace")[-2000:] if self.process.poll() is not None else ""
                    raise RuntimeError(f"Chromium closed the pipe: {said}")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self.events):
            self.events.append(self._read_message(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def check_page(self, path: Path, screenshot: Path, width: int = 1280, max_height: int = 12000) -> PageCheck:
        """Load the file, let it settle, and report console errors, failed and remote requests, images and a screenshot."""
        url = path.resolve().as_uri()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session, self.timeout)
        self.drain(1.5)  # late scripts, plots drawn after load
        check = PageCheck(url, screenshot)
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                check.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                check.console_errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                check.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                request_url = params.get("request", {}).get("url", "")
                if not request_url.startswith(LOCAL_SCHEMES):
                    check.remote_requests.append(request_url)
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                check.failed_loads.append(f"{params.get('errorText')} ({params.get('type')})")
        evaluated = self.send("Runtime.evaluate", {"expression": IMAGES, "returnByValue": True}, session)
        check.images = json.loads(evaluated["result"]["value"])
        check.title = self.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True}, session)["result"]["value"]
        size = self.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        check.height = int(size["height"])
        # a viewport as tall as the page (up to max_height): fixed elements (a report's sidebar) are laid out as a person
        # scrolling would see them, not stretched over one screen
        shown = min(check.height, max_height)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": shown, "deviceScaleFactor": 1, "mobile": False}, session)
        self.drain(0.5)
        shot = self.send("Page.captureScreenshot", {"format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": shown, "scale": 1}},
                         session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        self.send("Target.closeTarget", {"targetId": target})
        return check


def check_in_chromium(path: Path, screenshot: Path) -> PageCheck:
    """Open `path` in a fresh headless Chromium (skipping, with the reason, where there is none) and check it."""
    binary = chromium_or_skip()
    with Chromium(binary) as browser:
        return browser.check_page(path, screenshot)
