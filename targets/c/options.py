"""Options of the standalone C target (``edgekit export -t c``)."""

from __future__ import annotations

from edgekit.options import Option
from targets.c.kernels import KERNELS

OPTIONS: tuple[Option, ...] = (
    Option("c_kernels", ("--c-kernels",), default="portable", choices=KERNELS, formats=("c",), arg="kernels",
           help="c: kernel back-end: portable (TFLM's reference kernels) or cmsis-nn (arm_* calls, Cortex-M); both "
                "take int8 and int16x8.",
           doc="kernel back-end of the generated C: `portable` (TFLM's reference kernel templates, any core; the "
               "model file calls a C++ shim) or `cmsis-nn` (direct `arm_*` calls of CMSIS-NN with its structs "
               "precomputed, for Arm Cortex-M; ops CMSIS-NN has no kernel for, and ADD/MUL that broadcast, run "
               "the portable kernels in the same file; the arena holds the largest scratch of the plain-C, DSP "
               "and MVE builds). Both are bit-exact to TFLM ([c target](c.md)) and take int8 and int16x8 models (int16x8 "
               "with `cmsis-nn`: CMSIS-NN's `_s16` functions where TFLM's CMSIS-NN kernels call them)"),
)  # fmt: skip
