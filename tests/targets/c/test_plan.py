"""The static memory plan: exact offsets on tiny graphs, never two live buffers on the same
bytes, the lower bound, and the real models' plans against it."""

from __future__ import annotations

import random

import pytest

from targets.c.plan import ALIGN, Buffer, aligned, lower_bound, place, plan
from tests.conftest import INT8_MODELS, needs_shared


def _no_overlap(buffers, p):
    for a in buffers:
        for b in buffers:
            if a.key < b.key and a.overlaps(b):
                oa, ob = p.offsets[a.key], p.offsets[b.key]
                assert oa + aligned(a.size) <= ob or ob + aligned(b.size) <= oa, (a, b, p.offsets)
    assert all(p.offsets[b.key] % ALIGN == 0 for b in buffers)
    assert p.size == max((p.offsets[b.key] + aligned(b.size) for b in buffers), default=0)


def test_a_chain_reuses_the_dead_buffer():
    # A -> B -> C: A dies when C is written, so C takes A's bytes.
    bufs = [Buffer(1, 100, 0, 1), Buffer(2, 200, 1, 2), Buffer(3, 100, 2, 3)]
    p = plan(bufs)
    assert p.offsets == {1: 208, 2: 0, 3: 208}
    assert p.size == p.lower_bound == 320 and p.ratio == 1.0


def test_a_skip_connection_stays_live():
    # x (0..3) feeds op 3 too: it cannot be reused by the branch in between.
    bufs = [Buffer(0, 64, -1, 3), Buffer(1, 64, 0, 1), Buffer(2, 64, 1, 2), Buffer(3, 64, 2, 3)]
    p = plan(bufs)
    assert p.offsets == {0: 0, 1: 64, 2: 128, 3: 64}
    assert p.size == p.lower_bound == 192


def test_first_fit_fills_a_gap_between_live_buffers():
    # 1 and 3 sit at 0 and 32 while 2 (16 B) lives only between them.
    bufs = [Buffer(1, 16, 0, 4), Buffer(2, 16, 1, 2), Buffer(3, 16, 0, 4)]
    offsets, size = place(bufs)
    assert offsets == {1: 0, 2: 16, 3: 32} and size == 48
    assert plan(bufs).size == 48


def test_interleaved_lifetimes_pack_to_the_bound():
    bufs = [Buffer(1, 48, 0, 1), Buffer(2, 32, 1, 2), Buffer(3, 48, 2, 3), Buffer(4, 16, 0, 0), Buffer(5, 16, 3, 3)]
    p = plan(bufs)
    assert p.size == lower_bound(bufs) == 80
    _no_overlap(bufs, p)


def test_random_lifetimes_never_share_live_bytes_and_plans_are_deterministic():
    rng = random.Random(5)
    for _ in range(30):
        bufs = []
        for k in range(rng.randint(1, 25)):
            first = rng.randint(-1, 20)
            bufs.append(Buffer(k, rng.randint(1, 5000), first, first + rng.randint(0, 6)))
        p = plan(bufs)
        _no_overlap(bufs, p)
        assert p.size >= p.lower_bound
        assert plan(bufs) == p  # seeded: the same buffers give the same plan


def test_buffers_placed_around_fixed_ones_never_share_their_live_bytes():
    # how a CMSIS-NN build with larger scratch gets places for it around the planned tensors
    from targets.c.plan import Plan

    rng = random.Random(6)
    for _ in range(30):
        bufs = [Buffer(k, rng.randint(1, 5000), (f := rng.randint(-1, 20)), f + rng.randint(0, 6)) for k in range(20)]
        base = plan(bufs[:15])
        extra = bufs[15:]
        offsets, top = place(extra, tuple((base.offsets[b.key], b) for b in bufs[:15]))
        _no_overlap(bufs, Plan({**base.offsets, **offsets}, top, 0, "fixed"))
        assert top >= base.size and set(offsets) == {b.key for b in extra}


def test_empty_plan():
    p = plan([])
    assert p.size == 0 and p.lower_bound == 0 and p.ratio == 1.0


@needs_shared()
@pytest.mark.parametrize("model", sorted(INT8_MODELS))
def test_real_models_plan_within_5_percent_of_the_lower_bound(model):
    from targets.c.generate import generate

    m = generate(INT8_MODELS[model].read_bytes(), name="m", model_name=model)
    assert m.plan.lower_bound > 0 and m.plan.ratio <= 1.05, m.plan
