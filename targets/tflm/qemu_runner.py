"""A Runner for TFLM firmware on an emulated board: samples go to the firmware as a file read
over semihosting, the outputs come back as hex lines on its stdout (see the project's main.cc).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from edgekit.errors import ToolchainError, UnsupportedError
from edgekit.runtime.io import from_runtime, to_runtime
from edgekit.runtime.runner import RunnerBase
from edgekit.tflite_graph import TFLiteGraph
from targets.tflm.boards import get_board
from targets.tflm.firmware import INPUTS_FILE, read_project
from targets.tflm.toolchain import require_tools
from targets.tflm.icount import Counts, parse_counts
from targets.tflm.sources import parse_c_array

QEMU = "qemu-system-arm"
# Seconds QEMU may run without finishing a sample (or set-up) before it counts as hung: a run
# of a batch may take as long as it keeps making progress (MLPerf models on the reference
# kernels take seconds per sample; digits 40 ms).
TIMEOUT = 120.0
_OUT = re.compile(r"^out (\d+) (\d+) ([0-9a-f]*)$", re.M)


def _run_watched(cmd: list[str], cwd: str, stall: float) -> tuple[int | None, str]:
    """(exit code, stdout and stderr) of ``cmd``; the code is None when it printed nothing for
    ``stall`` seconds and was killed (the firmware prints a line per finished sample)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True)  # fmt: skip
    lines: list[str] = []
    last = [time.monotonic()]

    def read():
        for line in proc.stdout:
            lines.append(line)
            last[0] = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code: int | None = None
    while code is None:
        try:
            code = proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            if time.monotonic() - last[0] > stall:
                proc.kill()
                proc.wait()
                break
    reader.join(timeout=10)
    return code, "".join(lines)


def run_elf(elf: Path, board, files: dict[str, bytes], stall: float) -> str:
    """Stdout of a firmware ELF run under QEMU with ``files`` (name -> bytes) in its semihosting
    folder; an error when it printed nothing for ``stall`` seconds (a line per finished sample)
    or failed (with TFLM's own line before the firmware's error, e.g. "Failed to resize buffer")."""
    with tempfile.TemporaryDirectory(prefix="edgekit-qemu-") as cwd:
        for fname, data in files.items():
            (Path(cwd) / fname).write_bytes(data)
        cmd = [QEMU, *board.qemu_args, "-kernel", str(Path(elf).resolve())]
        code, text = _run_watched(cmd, cwd, stall)
    if code is None:
        raise UnsupportedError(f"{elf}: the firmware made no progress for {stall:.0f} s under QEMU "
                               f"(after {len(_OUT.findall(text))} output lines)")  # fmt: skip
    if code != 0 or "edgekit-fw done" not in text:
        lines = text.splitlines()
        at = next((i for i, ln in enumerate(lines) if ln.startswith("edgekit-fw error") or "fault" in ln), None)
        why = None if at is None else " / ".join(lines[max(at - 1, 0) : at + 1])
        raise FirmwareRunError(f"{elf}: the firmware failed under QEMU (exit {code}): {why or text.strip()[-300:]}", text)
    return text


class FirmwareRunError(UnsupportedError):
    """The firmware ran under QEMU and failed; ``output`` is what it printed."""

    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output


class QemuRunner(RunnerBase):
    """Runs a built firmware project (``load_project``) or a tflm artifact, generated and built
    in a temporary folder (``load``), under QEMU."""

    name = "qemu"

    def __init__(self, board: str = "mps2-an386", kernels: str = "reference", tflm_root: Path | None = None,
                 timeout: float = TIMEOUT):  # fmt: skip
        self.board, self.kernels, self.tflm_root, self.timeout = board, kernels, tflm_root, timeout
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.sizes: dict = {}

    def load(self, artifact) -> None:
        """Generate and build the firmware of a tflm artifact (its own C sources) in a temporary folder."""
        from targets.tflm.firmware import project_from_artifact
        from targets.tflm.fwbuild import build

        self._tmp = tempfile.TemporaryDirectory(prefix="edgekit-fw-")
        project = Path(self._tmp.name) / "project"
        project_from_artifact(artifact, project, board=self.board, kernels=self.kernels, tflm_root=self.tflm_root)
        self.sizes = build(project)
        self.load_project(project)

    def load_project(self, project: Path) -> None:
        """Use a project ``edgekit firmware`` wrote and built (``build/fw.elf``)."""
        require_tools(QEMU)
        self.project = Path(project)
        rec = read_project(self.project)
        self.elf = self.project / "build" / "fw.elf"
        if not self.elf.is_file():
            raise ToolchainError(f"{self.project}: no build/fw.elf; build the project first (make -C {self.project})")
        data = parse_c_array((self.project / rec["model_source"]).read_text(), rec["name"])
        self.use_elf(self.elf, get_board(rec["board"]), rec["kernels"], TFLiteGraph(data, rec["model_source"]))

    def use_elf(self, elf: Path, board, kernels: str, graph: TFLiteGraph) -> None:
        """Run ``elf`` (a firmware of ``graph`` printing main.cc's protocol) from now on."""
        from targets.tflm.runner import _info

        self.elf, self._board, self._kernels = Path(elf), board, kernels
        self.inputs = tuple(_info(t) for t in graph.inputs)
        self.outputs = tuple(_info(t) for t in graph.outputs)
        self.arena_used: int | None = None
        self.stack_used: int | None = None  # the stack's high-water mark over the runs
        self.counts: Counts | None = None  # instructions of the last run (per sample, per op)
        self._per_sample: list[int] = []  # every run's, for device_summary
        self._ops: Counts | None = None  # the first run's per-op counts

    def run_raw(self, samples: list[np.ndarray]) -> list[np.ndarray]:
        """Stored-type outputs for stored-type inputs (one array per tensor, batch first)."""
        n = len(samples[0])
        data = b"".join(np.ascontiguousarray(x[i], dtype=t.dtype).tobytes() for i in range(n) for x, t in zip(samples, self.inputs))
        text = run_elf(self.elf, self._board, {INPUTS_FILE: data}, self.timeout)
        if f"edgekit-fw done {n}" not in text:
            raise UnsupportedError(f"{self.elf}: the firmware stopped under QEMU before sample {n}: {text.strip()[-300:]}")
        arena = re.search(r"^edgekit-fw arena (\d+) (\d+)$", text, re.M)
        self.arena_used = int(arena.group(1)) if arena else None
        stack = re.search(r"^edgekit-fw stack (\d+) (\d+)$", text, re.M)  # startup.c's painted-stack reading
        self.stack_used = max(self.stack_used or 0, int(stack.group(1))) if stack else self.stack_used
        self.counts = parse_counts(text, self._board.instructions_per_tick)
        self._per_sample += self.counts.per_sample
        self._ops = self._ops or self.counts
        outs = [np.zeros((n, *t.shape[1:]) if t.shape and t.shape[0] == 1 else (n, *t.shape), t.dtype) for t in self.outputs]
        lines = list(_OUT.finditer(text))
        if len(lines) != n * len(self.outputs):
            raise UnsupportedError(f"{self.elf}: the firmware printed {len(lines)} output lines for {n} samples")
        for m in lines:
            s, k = int(m.group(1)), int(m.group(2))
            outs[k][s] = np.frombuffer(bytes.fromhex(m.group(3)), self.outputs[k].dtype).reshape(outs[k].shape[1:])
        return outs

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Float outputs for a batch of float inputs, all samples in one QEMU run."""
        stored = [to_runtime(x, t) for x, t in zip(inputs, self.inputs)]
        return [from_runtime(y, t) for y, t in zip(self.run_raw(stored), self.outputs)]

    def device_summary(self) -> dict:
        """Instructions per inference over every sample run so far (median, range), the
        costliest ops of the first sample, and the arena used: validation.json's ``device``."""
        from targets.tflm.icount import per_op_table

        s = sorted(self._per_sample)
        out = {"board": self._board.name, "kernels": self._kernels, "arena_used": self.arena_used,
               "stack_high_water": self.stack_used}  # fmt: skip
        if s:
            out.update(instructions_per_inference=s[(len(s) - 1) // 2], instructions_min=s[0], instructions_max=s[-1],
                       resolution=self._board.instructions_per_tick, costliest_ops=per_op_table(self._ops, top=10))  # fmt: skip
        return out

    def measurement(self) -> dict | None:
        """What the build and the runs so far measured, as a firmware measurement record
        (targets/tflm/fwmeasure.py record_for_artifact): flash, static RAM, the stack's
        high-water mark and instructions; None before a run of a build this runner made."""
        if not self.sizes or not self._per_sample or self.stack_used is None:
            return None
        s = sorted(self._per_sample)
        ops = self.first_run_ops()
        run = {"stack_used": self.stack_used, "arena_used": self.arena_used, "instructions": s[(len(s) - 1) // 2],
               "instructions_per_op": ops}  # fmt: skip
        ram = {"static": self.sizes["ram_static"], "stack_high_water": self.stack_used,
               "total": self.sizes["ram_static"] + self.stack_used}  # fmt: skip
        return {**{k: self.sizes[k] for k in ("board", "core", "compiler", "flash", "ram_static", "components") if k in self.sizes},
                "kernels": self.library, "run": run, "ram": ram}  # fmt: skip

    def first_run_ops(self) -> list[dict]:
        """Every op of the first sample of the first run: event, depth, op name, instructions."""
        return [o.as_dict() for o in self._ops.ops] if self._ops else []

    @property
    def library(self) -> str:
        """The kernel library by the device profiles' names (reference, cmsis-nn)."""
        return self._kernels

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
