"""The scratch buffers TFLM's CMSIS-NN kernels request in the arena, per op, for one core.

edgekit measures the arena with the Python TFLM interpreter, whose reference kernels ask for
no scratch; TFLM's CMSIS-NN kernels ask ``RequestScratchBufferInArena`` for what CMSIS-NN's
``arm_*_get_buffer_size`` functions return on the target (im2col columns, depthwise blocks,
Helium's kernel sums). On a Cortex-M55, KWS needs 27,300 B where the reference measurement
gives 22,784 B, so a CMSIS-NN firmware sized from it fails AllocateTensors.

The sizes come from CMSIS-NN itself: its ``_dsp``/``_mve`` host variants, compiled once for
the host (firmware/host/ek_cmsis_scratch.c plus CMSIS-NN's get_buffer_sizes files, cached in
the object cache). This module mirrors only TFLM's glue: which dims its Prepare functions pass
(micro/kernels/cmsis_nn/{conv,depthwise_conv,fully_connected,pooling}.cc).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from edgekit.errors import ToolchainError
from targets.tflm.toolchain import cache_root, require_tools
from targets.tflm.sources import firmware_root

LIBRARY_SOURCES = tuple(f"Source/{d}/arm_{f}_get_buffer_sizes_{t}.c" for d, f, types in (
    ("ConvolutionFunctions", "convolve", ("s8", "s16")),
    ("ConvolutionFunctions", "depthwise_conv", ("s8",)),
    ("FullyConnectedFunctions", "fully_connected", ("s8", "s16")),
    ("PoolingFunctions", "avgpool", ("s8", "s16")),
) for t in types)  # fmt: skip
FEATURES = {"plain": 0, "dsp": 1, "mve": 2}
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class OpScratch:
    op: int
    opcode: str
    bytes: int


def _library_dir(root: Path) -> Path:
    return Path(root) / "third_party" / "cmsis_nn"


@lru_cache(maxsize=4)
def _library(root: Path) -> ctypes.CDLL:
    """CMSIS-NN's buffer-size functions for the host, compiled once per (sources, compiler)."""
    cc = os.environ.get("CC", "gcc")
    require_tools(cc)
    lib_dir = _library_dir(root)
    sources = [firmware_root() / "host" / "ek_cmsis_scratch.c", *(lib_dir / s for s in LIBRARY_SOURCES)]
    h = hashlib.sha256()
    for src in [*sources, *sorted((lib_dir / "Include").rglob("*.h"))]:
        h.update(str(src.relative_to(src.parents[1])).encode() + b"\0" + src.read_bytes())
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60).stdout
    h.update("\0".join([*CFLAGS, version]).encode())
    out = cache_root() / f"cmsis-scratch-{h.hexdigest()[:24]}" / "libek_cmsis_scratch.so"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        done = subprocess.run([cc, *CFLAGS, f"-I{lib_dir / 'Include'}", "-o", str(tmp), *map(str, sources)],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        if done.returncode != 0:
            raise ToolchainError(f"CMSIS-NN's buffer-size functions in {lib_dir} do not compile with {cc}: "
                                 f"{' | '.join(done.stderr.splitlines()[-3:])[:400]}")  # fmt: skip
        os.replace(tmp, out)
    lib = ctypes.CDLL(str(out))
    for fn in ("ek_conv", "ek_fully_connected", "ek_avgpool"):
        getattr(lib, fn).argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int32))
    for fn in ("ek_depthwise_conv_s8", "ek_convolve_1x1_fast_s8"):
        getattr(lib, fn).argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_int32))
    for fn in ("ek_conv", "ek_fully_connected", "ek_avgpool", "ek_depthwise_conv_s8", "ek_convolve_1x1_fast_s8"):
        getattr(lib, fn).restype = ctypes.c_int32
    return lib


def _array(values) -> ctypes.Array:
    values = [int(v) for v in values]
    return (ctypes.c_int32 * len(values))(*values)


def _nhwc(shape: tuple[int, ...]) -> list[int]:
    return list(shape) if len(shape) == 4 else [1, 1, 1, 1]


def _pad(stride: int, dilation: int, size: int, filt: int, out: int) -> int:
    # TFLM's ComputePaddingHeightWidth, applied whatever the padding type (kernels/padding.h)
    return max((out - 1) * stride + (filt - 1) * dilation + 1 - size, 0) // 2


def _conv_params(graph, op, x, w, y) -> list[int]:
    o = graph.op_options(op)
    sh, sw = o.get("strideH", 1), o.get("strideW", 1)
    dh, dw = o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)
    xs, ws, ys = _nhwc(x.shape), _nhwc(w.shape), _nhwc(y.shape)
    ph, pw = _pad(sh, dh, xs[1], ws[1], ys[1]), _pad(sw, dw, xs[2], ws[2], ys[2])
    zp = lambda t: t.quant.zero_point[0] if t.quant and t.quant.zero_point else 0  # noqa: E731
    # filter dims as TFLM passes them: n = 1, h, w, c = the filter's last dim
    return [*xs, 1, ws[1], ws[2], ws[3], *ys, sh, sw, ph, pw, dh, dw, -zp(x), zp(y), -32768, 32767]


def op_scratch(graph, features: str, tflm_root: Path) -> list[OpScratch]:
    """Every scratch request of the CMSIS-NN kernels for ``graph`` on a core with ``features``."""
    lib, feature = _library(Path(tflm_root)), FEATURES[features]
    found: list[OpScratch] = []
    tensors = graph.main.tensors
    for op in graph.ops:
        t = [tensors[i] if i >= 0 else None for i in op.inputs]
        x, y = t[0], tensors[op.outputs[0]] if op.outputs else None
        if x is None or y is None or x.dtype not in ("int8", "int16"):
            continue
        bits = 16 if x.dtype == "int16" else 8
        if op.opcode == "CONV_2D":
            n = lib.ek_conv(bits, feature, _array(_conv_params(graph, op, x, t[1], y)))
        elif op.opcode == "DEPTHWISE_CONV_2D" and bits == 8:
            n = lib.ek_depthwise_conv_s8(feature, _array(_conv_params(graph, op, x, t[1], y)))
        elif op.opcode == "AVERAGE_POOL_2D":
            ys = _nhwc(y.shape)
            n = lib.ek_avgpool(bits, feature, _array([ys[2], ys[3]]))
        elif op.opcode == "FULLY_CONNECTED":
            n = _fc_scratch(lib, feature, bits, t, y)
        else:
            continue
        if n > 0:
            found.append(OpScratch(op.index, op.opcode, int(n)))
    return found


def _fc_scratch(lib, feature: int, bits: int, t, y) -> int:
    w, accum, depth = t[1], t[1].shape[-1], y.shape[-1]
    if bits == 8 and w.dtype == "int8" and len(y.shape) > 2 and accum % 4 == 0:
        # fully_connected.cc's 1x1-convolution path: a per-channel table when the weights are per-tensor
        batches = 1
        for d in y.shape[:-1]:
            batches *= d
        table = 0 if (w.quant and w.quant.per_channel) else depth * 4 * 2
        return table + lib.ek_convolve_1x1_fast_s8(feature, _array([batches, 1, 1, accum]))
    return lib.ek_fully_connected(bits, feature, _array([accum, 1, 1, depth]))


def scratch_bound(graph, board, tflm_root: Path) -> dict:
    """The arena to add to a reference-kernel measurement for CMSIS-NN on ``board``: scratch
    buffers live for their op only, so the largest one (rounded to TFLM's 16-byte alignment)."""
    ops = op_scratch(graph, board.cmsis_nn_features, tflm_root)
    largest = max((s.bytes for s in ops), default=0)
    return {"bytes": -(-largest // 16) * 16, "features": board.cmsis_nn_features,
            "ops": [{"op": s.op, "opcode": s.opcode, "bytes": s.bytes} for s in ops]}  # fmt: skip
