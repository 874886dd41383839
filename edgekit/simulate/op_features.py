"""Per-op work counts of a .tflite graph: what the device latency cost model multiplies.

The features follow how microcontroller kernels spend cycles, so one set of coefficients can
cost convolutions with 1 or 256 input channels alike:

- ``mac_conv`` / ``mac_dw`` / ``mac_fc``: multiply-accumulates, split by kernel family
  (convolutions reuse each weight across pixels; fully connected layers stream every weight
  once, so they are bound by loads rather than arithmetic).
- ``entries``: how often the innermost accumulation loop is entered (a conv enters it once
  per output element and filter tap and then runs over the input channels; a depthwise conv
  once per MAC; a fully connected layer once per output). Loop set-up, bounds checks and
  im2col copies scale with it.
- ``outputs``: output elements of MAC ops (bias, requantization, clamping, store).
- ``elements``: elements touched by every other op (add, pooling, softmax, reshape…).
- ``ops``: one per op (interpreter dispatch, per-op set-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURES = ("mac_conv", "mac_dw", "mac_fc", "entries", "outputs", "elements", "ops")

CONV_LIKE = {"CONV_2D", "TRANSPOSE_CONV", "CONV_3D"}
DEPTHWISE = {"DEPTHWISE_CONV_2D"}
# Matrix-vector style ops: each weight is read once per inference.
FC_LIKE = {"FULLY_CONNECTED", "BATCH_MATMUL", "SVDF", "UNIDIRECTIONAL_SEQUENCE_LSTM"}
# Ops whose kernels the calibration models contain; anything else is costed by its family.
CALIBRATED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D",
              "RESHAPE", "SOFTMAX"}  # fmt: skip


@dataclass(frozen=True)
class OpWork:
    """The work of one op: its position, kind, a readable name and its feature counts."""

    index: int
    opcode: str
    name: str
    counts: tuple[int, ...]  # in FEATURES order

    @property
    def calibrated(self) -> bool:
        return self.opcode in CALIBRATED

    def as_dict(self) -> dict[str, int]:
        return dict(zip(FEATURES, self.counts))


def _elements(tensors, i: int) -> int:
    return math.prod(tensors[i].shape) if 0 <= i < len(tensors) else 0


def _taps(tensors, weights: int, opcode: str) -> int:
    shape = tensors[weights].shape if 0 <= weights < len(tensors) else ()
    if opcode == "CONV_3D" and len(shape) == 5:
        return shape[0] * shape[1] * shape[2]
    return shape[1] * shape[2] if len(shape) == 4 else 1


def op_work(graph) -> list[OpWork]:
    """Feature counts of every op of ``graph`` (a TFLiteGraph), subgraph by subgraph.

    Ops inside control-flow subgraphs are counted once: loop trip counts are not in the file.
    """
    return [w for sg in graph.subgraphs for w in _subgraph_work(sg)]


def _subgraph_work(sg) -> list[OpWork]:
    tensors = sg.tensors
    work = []
    for op in sg.ops:
        out = _elements(tensors, op.outputs[0]) if op.outputs else 0
        largest = max([out] + [_elements(tensors, i) for i in op.inputs if i >= 0 and not tensors[i].is_constant])
        c = dict.fromkeys(FEATURES, 0)
        c["ops"] = 1
        if op.opcode in CONV_LIKE:
            c["mac_conv"], c["outputs"] = op.macs, out
            c["entries"] = out * _taps(tensors, op.inputs[1], op.opcode)
        elif op.opcode in DEPTHWISE:
            c["mac_dw"], c["outputs"], c["entries"] = op.macs, out, op.macs
        elif op.opcode in FC_LIKE:
            c["mac_fc"], c["outputs"], c["entries"] = op.macs, out, out
        else:
            c["elements"] = largest
        # TFLM sources strip tensor names (targets/tflm/strip.py): the op's index names it then.
        name = (tensors[op.outputs[0]].name if op.outputs else "") or f"op {op.index}"
        work.append(OpWork(op.index, op.opcode, name, tuple(c[f] for f in FEATURES)))
    return work


def totals(work: list[OpWork]) -> dict[str, int]:
    """Feature counts summed over ``work``."""
    return {f: sum(w.counts[i] for w in work) for i, f in enumerate(FEATURES)}
