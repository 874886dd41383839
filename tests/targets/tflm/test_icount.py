"""Instruction counts from the firmware's output: a real QEMU run's stdout (digits, reference
kernels, mps2-an386, compiled-in zero sample; tests/golden/firmware/qemu_digits_an386.txt)."""

from targets.tflm.boards import BOARDS, get_board
from targets.tflm.icount import parse_counts, per_op_table
from tests.conftest import ROOT

OUTPUT = (ROOT / "tests" / "golden" / "firmware" / "qemu_digits_an386.txt").read_text()


def test_ticks_become_instructions_at_the_boards_clock():
    an386 = get_board("mps2-an386")
    counts = parse_counts(OUTPUT, an386.instructions_per_tick)
    assert an386.instructions_per_tick == 40.0 and counts.resolution == 40.0  # 25 MHz clock, 1 ns per instruction
    assert counts.per_sample == (1_793_054 * 40,) and counts.per_inference == 71_722_160
    assert [o.op for o in counts.ops] == ["CONV_2D", "CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED",
                                          "FULLY_CONNECTED", "SOFTMAX"]  # fmt: skip
    assert all(o.depth == 0 for o in counts.ops) and counts.dropped_ops == 0
    # The ops are inside the Invoke: their sum is at most the inference, the rest is the interpreter's loop.
    assert 0.99 * counts.per_inference < counts.ops_total <= counts.per_inference


def test_per_op_table_is_costliest_first_with_shares():
    rows = per_op_table(parse_counts(OUTPUT, 40.0))
    assert rows[0]["op"] == "CONV_2D" and rows[0]["event"] == 1 and rows[0]["share"] > 0.9
    assert [r["instructions"] for r in rows] == sorted((r["instructions"] for r in rows), reverse=True)
    assert len(per_op_table(parse_counts(OUTPUT, 40.0), top=3)) == 3


def test_every_board_runs_qemu_with_icount_and_knows_its_clock():
    # Clocks measured with a 2-instruction loop of 10M and 600M iterations (the latter wraps SysTick):
    # an386/an500 500,000 ticks per 20M instructions, an505 400,000, an547 640,000.
    ticks = {"mps2-an386": 40.0, "mps2-an500": 40.0, "mps2-an505": 50.0, "mps3-an547": 31.25}
    for name, board in BOARDS.items():
        assert "-icount" in board.qemu_args and board.instructions_per_tick == ticks[name]


def test_output_without_counts_has_none():
    counts = parse_counts("edgekit-fw done 0\n", 40.0)
    assert counts.per_inference is None and counts.ops == () and counts.ops_total == 0
