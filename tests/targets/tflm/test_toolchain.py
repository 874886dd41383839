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
