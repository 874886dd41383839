"""Options of the OpenVINO IR target."""

from __future__ import annotations

from edgekit.options import Option

OPTIONS: tuple[Option, ...] = (
    Option("ov_preset", ("--ov-preset",), choices=("performance", "mixed"), formats=("openvino",), arg="preset",
           help="openvino int8: NNCF preset (symmetric, or asymmetric activations).",
           doc="int8: NNCF preset `performance` (default, symmetric) or `mixed` (asymmetric activations); see "
               "[openvino.md](openvino.md)"),
)
# With --eval and --max-drop, int8 is NNCF's accuracy-aware quantization.
READS: dict[str, str] = {"max_drop": "max_drop", "eval_data": "eval", "preprocess": "preprocess"}
