"""A restartable child process that answers JSON requests, one per line.

Native interpreters that can crash on bad input run in such a child (see
``tflm_worker.py``): if it dies, the request that killed it gets ``None`` and the next
request starts a fresh child.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile


class ChildCrashed(Exception):
    """The child died while answering; ``reason`` says how (signal name or exit code)."""

    def __init__(self, reason: str, stderr: str):
        super().__init__(reason)
        self.reason = reason
        self.stderr = stderr


class Child:
    """``python -m MODULE`` kept alive across requests."""

    def __init__(self, module: str):
        self.module = module
        self._proc: subprocess.Popen | None = None
        self._err = None

    def _start(self) -> subprocess.Popen:
        self._err = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True, env=env,
        )  # fmt: skip
        return self._proc

    def request(self, req: dict, timeout: float = 600.0) -> dict:
        """Send one request; raise ChildCrashed if the child dies (or hangs) before replying."""
        self.send(req)
        return self.receive(timeout)

    def send(self, req: dict) -> None:
        """Start a request without waiting (pair with ``receive``; children work in parallel)."""
        proc = self._proc if self._proc and self._proc.poll() is None else self._start()
        try:
            proc.stdin.write(json.dumps(req) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child is gone; receive() reports how it died

    def receive(self, timeout: float = 600.0) -> dict:
        """The reply to the last request sent."""
        proc = self._proc
        try:
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else None
        except (BrokenPipeError, OSError):
            line = ""
        if line:
            return json.loads(line)
        if line is None:
            proc.kill()
        code = proc.wait()
        if line is None:
            self._proc = None
            raise ChildCrashed(f"no answer within {timeout:.0f} s", "")
        self._err.seek(0)
        stderr = self._err.read().decode("utf-8", "replace")
        self._proc = None
        if code < 0:
            try:
                reason = signal.Signals(-code).name
            except ValueError:
                reason = f"signal {-code}"
        else:
            reason = f"exit code {code}"
        raise ChildCrashed(reason, stderr)

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
