"""Running one fuzz case and judging what the command did with it.

A case runs in this process through the click command (``CliRunner``), with fd 1/2 sent to a
file so the printed lines can be judged, under a per-case alarm. Outcomes:

  ok         exit 0, or 1 (a quality gate failed): a correct result
  error      exit 2 with one ``error: ...`` line
  traceback  exit 3 (internal error), a Python traceback printed, or an exception escaped
  hang       the case did not finish within its time limit
  unclean    something half-written was left behind (staging dirs, temp files, partial sources)
  crash      the process died (only the campaign's supervisor can see this one)
  code       code from a model file ran (its payload touched the canary file)
  harm       a file the user owns was deleted or changed, or one was written outside the build
  gate       a gate passed that must fail (or failed on an input that must pass)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

OUTCOMES = ("ok", "error", "traceback", "hang", "unclean", "crash", "code", "harm", "gate")


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` in edgekit swallows it."""


@dataclass
class Outcome:
    kind: str  # one of OUTCOMES
    case: str
    detail: str = ""


@contextlib.contextmanager
def _alarm(seconds: int):
    def fire(signum, frame):
        raise CaseTimeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _fds_to(path: Path):
    """fd 1 and 2 (where the CLI prints, through duplicates) into ``path`` for one case."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (*saved, fd):
            os.close(f)


def run_cli(args: list[str], timeout: int = 120) -> tuple[int | None, str, BaseException | None]:
    """(exit code or None on a hang, printed text, escaped exception) of one in-process CLI run."""
    from click.testing import CliRunner

    from edgekit.cli import cli

    with tempfile.TemporaryDirectory(prefix="edgekit-fuzz-") as tmp:
        log = Path(tmp) / "out.txt"
        code, exc = None, None
        with _fds_to(log):
            try:
                with _alarm(timeout):
                    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
                code = result.exit_code
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    exc = result.exception
            except CaseTimeout:
                code = None
        return code, log.read_text(errors="replace"), exc


def judge(case: str, code: int | None, text: str, exc: BaseException | None, leftovers: list[str]) -> Outcome:
    if code is None:
        return Outcome("hang", case)
    if exc is not None or code == 3 or "Traceback (most recent call last)" in text:
        return Outcome("traceback", case, f"{type(exc).__name__ if exc else ''} {text.strip()[-300:]}")
    if leftovers:
        return Outcome("unclean", case, ", ".join(leftovers[:5]))
    if code in (0, 1):
        return Outcome("ok", case)
    errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
    if code == 2 and len(errors) == 1 and len(errors[0]) > 10:
        return Outcome("error", case, errors[0][:200])
    return Outcome("traceback", case, f"exit {code} without one clear error line: {text.strip()[-300:]}")


def stray(root: Path) -> list[str]:
    """Staging directories, temp files and lock files a run should never leave."""
    return [str(p) for p in root.rglob("*") if ".tmp-" in p.name or ".old-" in p.name
            or (p.name.startswith(".") and p.name.endswith(".lock"))]


def validated(build: Path, code: int | None) -> list[str]:
    """What a validate run left that it should not have: strays, or results of a failed run."""
    left = stray(build.parent)
    if code not in (0, 1, None) and (build / "validation.json").exists():
        left.append("validation.json written by a failed validate")
    return left

