"""CMSIS-NN's own ``arm_*_get_buffer_size`` functions, plain and the ``_dsp``/``_mve`` host
variants, compiled for the host with gcc (tests/cmsis_nn_oracle.c plus CMSIS-NN's
get_buffer_sizes files) and loaded with ctypes: the oracle the Python formulas of
targets/cmsis_nn_sizes.py are held to. Compiled once per (sources, compiler) into the object cache."""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from functools import lru_cache
from pathlib import Path

from targets.tflm.toolchain import cache_root, require_tools

LIBRARY_SOURCES = tuple(f"Source/{d}/arm_{f}_get_buffer_sizes_{t}.c" for d, f, types in (
    ("ConvolutionFunctions", "convolve", ("s8", "s16")),
    ("ConvolutionFunctions", "depthwise_conv", ("s8",)),
    ("FullyConnectedFunctions", "fully_connected", ("s8", "s16")),
    ("PoolingFunctions", "avgpool", ("s8", "s16")),
) for t in types)  # fmt: skip
FEATURES = {"plain": 0, "dsp": 1, "mve": 2}  # ek_cmsis_scratch.c's EK_PLAIN / EK_DSP / EK_MVE
CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror")


@lru_cache(maxsize=4)
def library(root: Path) -> ctypes.CDLL:
    """The compiled size functions of the CMSIS-NN under TFLM tree ``root``."""
    cc = os.environ.get("CC", "gcc")
    require_tools(cc)
    lib_dir = Path(root) / "third_party" / "cmsis_nn"
    sources = [Path(__file__).with_suffix(".c"), *(lib_dir / s for s in LIBRARY_SOURCES)]
    h = hashlib.sha256()
    for src in [*sources, *sorted((lib_dir / "Include").rglob("*.h"))]:
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60).stdout
    h.update("\0".join([*CFLAGS, version]).encode())
    out = cache_root() / f"cmsis-scratch-{h.hexdigest()[:24]}" / "libek_cmsis_scratch.so"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        subprocess.run([cc, *CFLAGS, f"-I{lib_dir / 'Include'}", "-o", str(tmp), *map(str, sources)], check=True,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
        os.replace(tmp, out)
    lib = ctypes.CDLL(str(out))
    for fn in ("ek_conv", "ek_fully_connected", "ek_avgpool"):
        getattr(lib, fn).argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int32))
    for fn in ("ek_depthwise_conv_s8", "ek_convolve_1x1_fast_s8"):
        getattr(lib, fn).argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_int32))
    for fn in ("ek_conv", "ek_fully_connected", "ek_avgpool", "ek_depthwise_conv_s8", "ek_convolve_1x1_fast_s8"):
        getattr(lib, fn).restype = ctypes.c_int32
    return lib


def conv_params(p, i, f, o) -> ctypes.Array:
    """The int32 array cmsis_nn_oracle.c reads for a conv (targets.cmsis_nn_sizes Conv and Dims):
    input, filter and output dims, stride, padding, dilation, then offsets and activation range
    (which no size function reads)."""
    v = [*vars(i).values(), *vars(f).values(), *vars(o).values(), p.stride_h, p.stride_w, p.pad_h, p.pad_w,
         p.dilation_h, p.dilation_w, 0, 0, -128, 127]  # fmt: skip
    return (ctypes.c_int32 * len(v))(*v)
