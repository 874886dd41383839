"""Killing `edgekit export` at any moment leaves the build as it was or complete, and the
next run needs no cleanup."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import EXAMPLE, ROOT

pytestmark = pytest.mark.slow
KILL_AFTER = (0.3, 1.5, 3.0, 4.5, 6.0)  # seconds: loading, converting, measuring the arena, validating, writing
ARGS = ["export", str(EXAMPLE / "digits.keras"), "-t", "tflite,tflm", "-q", "int8", "--calib",
        str(EXAMPLE / "calib.npz"), "--eval", str(EXAMPLE / "eval.npz"), "--no-latency", "--force"]  # fmt: skip


def _export(out, **kw):
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli", *ARGS, "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # fmt: skip


def _complete(out) -> str:
    manifest = json.loads((out / "manifest.json").read_text())
    for a in manifest["artifacts"]:
        for f in a["files"]:
            assert (out / f["path"]).is_file(), f
    return manifest["created"]


def test_sigkill_at_five_points_leaves_old_or_complete(tmp_path):
    out = tmp_path / "build"
    first = _export(out)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    stamps = {_complete(out)}
    for delay in KILL_AFTER:
        proc = _export(out)
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=60)
        stamp = _complete(out)  # the previous build, or a new complete one
        stamps.add(stamp)
    rerun = _export(out)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    _complete(out)
    leftovers = [p for p in os.listdir(tmp_path) if p != "build"]
    assert leftovers == [], leftovers


def test_sigint_exits_cleanly_without_writing(tmp_path):
    out = tmp_path / "fresh"
    proc = _export(out)
    # Interrupt the export itself, not the interpreter's start-up (imports can take seconds on a
    # loaded machine): the run takes its destination lock before it reads the model.
    lock, deadline = tmp_path / ".fresh.lock", time.monotonic() + 120
    while not lock.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # finished before the signal arrived on a fast machine
        _complete(out)
        return
    assert proc.returncode == 130 and "interrupted; nothing was written" in err and "Traceback" not in err
    assert not out.exists() and os.listdir(tmp_path) == []
