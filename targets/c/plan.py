"""The static memory plan of the standalone C target: one arena, an offset per buffer.

A buffer lives from the op that writes it to the last op that reads it (both included).
Buffers whose lifetimes do not overlap may share bytes. The plan places buffers greedily
at the lowest offset free for their whole lifetime, in several orders (largest first as
TFLM's GreedyMemoryPlanner does, longest-lived first, first-written first, and seeded
shuffles), and keeps the smallest arena. The lower bound is the largest set of buffers
alive at one op: no plan can be smaller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALIGN = 16  # bytes: every offset and size is a multiple (SIMD kernels want aligned rows)
TRIALS = 64  # seeded shuffles tried after the fixed orders


@dataclass(frozen=True)
class Buffer:
    key: int  # who the buffer is (the generator's tensor group id)
    size: int  # bytes
    first: int  # op index that writes it (-1: before the first op)
    last: int  # last op index that reads it

    def overlaps(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Plan:
    offsets: dict  # key -> byte offset in the arena
    size: int  # arena bytes
    lower_bound: int  # bytes of the largest live set (sizes rounded up to ALIGN)
    order: str  # which placement order won

    @property
    def ratio(self) -> float:
        """Arena over the lower bound (1.0: optimal)."""
        return self.size / self.lower_bound if self.lower_bound else 1.0

    def to_json(self) -> dict:
        return {"arena": self.size, "lower_bound": self.lower_bound, "ratio": round(self.ratio, 4),
                "order": self.order, "align": ALIGN}  # fmt: skip


def aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def lower_bound(buffers: list[Buffer]) -> int:
    """The largest sum of (aligned) sizes of buffers alive at the same op."""
    steps = {t for b in buffers for t in (b.first, b.last)}
    return max((sum(aligned(b.size) for b in buffers if b.first <= t <= b.last) for t in steps), default=0)


def place(buffers: list[Buffer], fixed: tuple = ()) -> tuple[dict, int]:
    """First fit in the given order: each buffer at the lowest aligned offset that no
    already placed buffer alive at the same time covers (``fixed``: (offset, Buffer) pairs
    placed before; the top counts them too)."""
    placed: list[tuple[int, int, Buffer]] = [(o, o + aligned(b.size), b) for o, b in fixed]  # (offset, end, buffer)
    offsets, top = {}, max((e for _, e, _ in placed), default=0)
    for b in buffers:
        size = aligned(b.size)
        busy = sorted((o, e) for o, e, other in placed if other.overlaps(b))
        offset = 0
        for o, e in busy:
            if offset + size <= o:
                break
            offset = max(offset, e)
        offsets[b.key] = offset
        placed.append((offset, offset + size, b))
        top = max(top, offset + size)
    return offsets, top


def plan(buffers: list[Buffer], trials: int = TRIALS) -> Plan:
    """The smallest arena over the placement orders tried (deterministic: seeded)."""
    bound = lower_bound(buffers)
    orders = {
        "largest first": sorted(buffers, key=lambda b: (-aligned(b.size), b.first, b.key)),
        "longest-lived first": sorted(buffers, key=lambda b: (b.first - b.last, -b.size, b.key)),
        "first written first": sorted(buffers, key=lambda b: (b.first, -b.size, b.key)),
        "largest area first": sorted(buffers, key=lambda b: (-b.size * (b.last - b.first + 1), b.key)),
    }
    rng = random.Random(0)
    base = orders["largest first"]
    for i in range(trials if len(buffers) > 2 else 0):
        shuffled = list(base)
        rng.shuffle(shuffled)
        orders[f"shuffle {i}"] = shuffled
    best = None
    for name, order in orders.items():
        offsets, size = place(order)
        if best is None or size < best[1]:
            best = (offsets, size, name)
            if size == bound:
                break
    offsets, size, name = best if best else ({}, 0, "empty")
    return Plan(dict(sorted(offsets.items())), size, bound, name)
