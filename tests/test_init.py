"""edgekit/__init__.py: importing edgekit keeps triton out of the process unless told not to."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = "import sys, edgekit; print('blocked' if 'triton' in sys.modules and sys.modules['triton'] is None else 'free')"


def _probe(**env) -> str:
    base = {k: v for k, v in os.environ.items() if k != "EDGEKIT_ALLOW_TRITON"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                          env={**base, **env, "PYTHONPATH": str(ROOT)}, timeout=120, check=True)  # fmt: skip
    return done.stdout.strip()


def test_triton_is_blocked_by_default_and_can_be_allowed():
    assert _probe() == "blocked"
    assert _probe(EDGEKIT_ALLOW_TRITON="1") == "free"
