"""Instruction counts from the firmware's output (see the project's edgekit_profile.h).

QEMU runs the firmware with ``-icount shift=0``: the emulated clock advances 1 ns per
instruction, so the firmware's timer ticks times ``Board.instructions_per_tick`` are
instructions (resolution: one tick, 40 instructions on the mps2 boards' 25 MHz clock; the
runs are deterministic, so the same firmware and input give the same count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TICKS = re.compile(r"^edgekit-fw ticks (\d+) (\d+)$", re.M)
_OP = re.compile(r"^edgekit-fw op (\d+) (\d+) (\S+) (\d+)$", re.M)
_DROPPED = re.compile(r"^edgekit-fw ops-dropped (\d+)$", re.M)


@dataclass(frozen=True)
class OpCount:
    """One op TFLM ran in the first sample's Invoke: its event number, nesting depth (> 0:
    inside a control-flow op), TFLM's op name and the instructions it took."""

    event: int
    depth: int
    op: str
    instructions: int

    def as_dict(self) -> dict:
        return {"event": self.event, "depth": self.depth, "op": self.op, "instructions": self.instructions}


@dataclass(frozen=True)
class Counts:
    """Instructions per Invoke (one per sample, in order) and per op of the first sample."""

    per_sample: tuple[int, ...]
    ops: tuple[OpCount, ...] = ()
    dropped_ops: int = 0
    resolution: float = 1.0  # instructions per timer tick
    notes: tuple[str, ...] = field(default=())

    @property
    def per_inference(self) -> int | None:
        """The count of one inference: the median over the samples (they differ only where
        the kernels branch on the data)."""
        if not self.per_sample:
            return None
        s = sorted(self.per_sample)
        return s[(len(s) - 1) // 2]

    @property
    def ops_total(self) -> int:
        """Instructions inside the top-level ops (the rest of an Invoke is the interpreter's loop)."""
        return sum(o.instructions for o in self.ops if o.depth == 0)

    def as_dict(self) -> dict:
        return {"instructions_per_inference": self.per_inference, "per_sample": list(self.per_sample),
                "resolution": self.resolution, "ops_total": self.ops_total, "dropped_ops": self.dropped_ops,
                "ops": [o.as_dict() for o in self.ops]}  # fmt: skip


def parse_counts(text: str, instructions_per_tick: float) -> Counts:
    """The counts the firmware printed, in instructions."""

    def instr(ticks: str) -> int:
        return round(int(ticks) * instructions_per_tick)

    samples = sorted((int(m.group(1)), instr(m.group(2))) for m in _TICKS.finditer(text))
    ops = tuple(OpCount(int(m.group(1)), int(m.group(2)), m.group(3), instr(m.group(4))) for m in _OP.finditer(text))
    dropped = _DROPPED.search(text)
    return Counts(tuple(n for _, n in samples), ops, int(dropped.group(1)) if dropped else 0, instructions_per_tick)


def per_op_table(counts: Counts, top: int | None = None) -> list[dict]:
    """Top-level ops with their share of the inference, costliest first."""
    total = counts.per_inference or 0
    rows = [{**o.as_dict(), "share": o.instructions / total if total else 0.0} for o in counts.ops if o.depth == 0]
    rows.sort(key=lambda r: (-r["instructions"], r["event"]))
    return rows[:top] if top else rows
