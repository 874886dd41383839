"""Open a page in headless Chromium over the DevTools protocol (stdlib only) and report what
it did: console errors, uncaught exceptions, network requests, and a full-page screenshot.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands from fd 3
and writes replies and events to fd 4, each message a JSON object ended by a NUL byte.
Used by tests/test_report.py and, to refresh the picture in docs/report.md:

    python -m tests.chromium build/demo/report.html docs/report.png
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    screenshot: bytes = b""
    size: tuple[int, int] = (0, 0)  # CSS pixels of the whole page


class _Pipe:
    def __init__(self, proc, write_fd: int, read_fd: int):
        self.proc, self.w, self.r = proc, write_fd, read_fd
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed the pipe (exit {self.proc.poll()})")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events[i]
        while True:
            e = self._read_message(deadline)
            self.events.append(e)
            if e.get("method") == method:
                return e


def _high_fd(fd: int) -> int:
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


def visit(url: str, width: int = 1280, settle: float = 0.5, timeout: float = 60, dark: bool = False) -> PageVisit:
    """Load ``url`` in a fresh headless Chromium and record errors, requests and a screenshot."""
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium is not installed (make toolchain installs it)")
    cmd_r, cmd_w = map(_high_fd, os.pipe())
    out_r, out_w = map(_high_fd, os.pipe())

    def child_fds():  # runs in the child before exec (and before close_fds)
        os.dup2(cmd_r, 3)
        os.dup2(out_w, 4)

    profile = tempfile.mkdtemp(prefix="edgekit-chromium-")
    args = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={profile}", "about:blank"]  # fmt: skip
    proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=child_fds, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(cmd_r)
    os.close(out_w)
    pipe = _Pipe(proc, cmd_w, out_r)
    result = PageVisit()
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)  # fmt: skip
        if dark:
            pipe.call("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
                      session=session)  # fmt: skip
        pipe.events.clear()  # only what the page itself does
        pipe.call("Page.navigate", {"url": url}, session=session)
        pipe.wait_for("Page.loadEventFired", timeout=timeout)
        time.sleep(settle)
        metrics = pipe.call("Page.getLayoutMetrics", session=session)
        content = metrics.get("cssContentSize") or metrics["contentSize"]
        w, h = int(content["width"]), int(content["height"])
        shot = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                         "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}, session=session)  # fmt: skip
        result.screenshot, result.size = base64.b64decode(shot["data"]), (w, h)
        for e in pipe.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                result.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                result.console_errors.append(p["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                result.console_errors.append(p["entry"]["text"])
            elif method == "Network.requestWillBeSent":
                result.requests.append(p["request"]["url"])
        try:
            pipe.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError):
            pass
    finally:
        os.close(cmd_w)
        os.close(out_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result


def main(argv: list[str]) -> None:
    page, png = Path(argv[0]).resolve(), Path(argv[1])
    seen = visit(page.as_uri(), dark="--dark" in argv)
    png.write_bytes(seen.screenshot)
    print(f"{png}: {seen.size[0]}x{seen.size[1]}, {len(seen.screenshot):,} B; console errors {seen.console_errors}; "
          f"requests {seen.requests}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
