"""Host tools and the object cache (targets/tflm/toolchain.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.errors import ToolchainError
from targets.tflm.toolchain import CACHE_ENV, cache_root, require_tools


def test_missing_toolchain_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainError) as e:
        require_tools("arm-none-eabi-gcc", "qemu-system-arm")
    assert "make toolchain" in str(e.value) and "gcc-arm-none-eabi" in str(e.value) and "qemu-system-arm" in str(e.value)
    assert "\n" not in str(e.value)


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "objs"))
    assert cache_root() == tmp_path / "objs"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == Path(tmp_path) / "edgekit" / "tflm-objects"


_HOLDER = """
import sys, time
from pathlib import Path
from targets.tflm.toolchain import cache_lock
with cache_lock(Path(sys.argv[1])):
    Path(sys.argv[2]).write_text("locked")
    time.sleep(float(sys.argv[3]))
    Path(sys.argv[2]).write_text("released")
"""


def _hold(tmp_path, seconds: float):
    """A second process holding the lock of tmp_path/objs for ``seconds``; returns once it holds it."""
    import subprocess
    import sys
    import time

    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "objs"), str(flag), str(seconds)],
                            cwd=Path(__file__).resolve().parents[3])  # fmt: skip
    deadline = time.monotonic() + 60
    while not (flag.is_file() and flag.read_text() == "locked"):
        assert proc.poll() is None and time.monotonic() < deadline, "the holder did not take the lock"
        time.sleep(0.05)
    return proc, flag


def test_cache_lock_makes_a_second_build_wait(tmp_path):
    from targets.tflm.toolchain import cache_lock

    proc, flag = _hold(tmp_path, 1.0)
    with cache_lock(tmp_path / "objs"):
        assert flag.read_text() == "released"  # entered only after the other process let go
    proc.wait(timeout=60)


def test_a_cache_lock_held_too_long_is_one_line(tmp_path):
    from targets.tflm.toolchain import cache_lock

    proc, _ = _hold(tmp_path, 30.0)
    try:
        with pytest.raises(ToolchainError) as e:
            with cache_lock(tmp_path / "objs", timeout=0.5):
                pass
        assert "objs.lock" in str(e.value) and "\n" not in str(e.value)
    finally:
        proc.kill()
        proc.wait(timeout=60)
