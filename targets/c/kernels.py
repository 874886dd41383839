"""What a build of a generated model compiles besides the model file, per kernel back-end:
the one list the host build (hostbuild.py) and the Cortex-M build (crossbuild.py) share.

A back-end is a set of sources compiled once per (toolchain, flags) into the object cache,
the include folders the model file and those sources need, and extra defines. The model's
own file is compiled and linked with them by each build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import OptionError, UnsupportedError

KERNELS = ("portable", "cmsis-nn")
FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
SHIM = FIRMWARE / "c" / "portable"
# The TFLM files the reference kernels call out of their headers (MultiplyByQuantizedMultiplier).
TFLM_SOURCES = ("tensorflow/lite/kernels/internal/common.cc",)
# ../shared/tflm/<tree> (firmware.default_tflm_root's trees) each back-end's sources come from.
_TREES = {"portable": "reference", "cmsis-nn": "cmsis-nn"}


@dataclass(frozen=True)
class KernelSet:
    """The sources (.c: C compiler, .cc: C++) a back-end adds to every build, the include folders
    of edgekit's own code (``-I``) and of third-party trees (``-isystem``: their warnings are not
    ours), and defines for every compile."""

    kernels: str
    root: Path  # the TFLM tree
    sources: tuple[Path, ...]
    includes: tuple[Path, ...]
    system: tuple[Path, ...]
    defines: tuple[str, ...] = ()

    def flags(self) -> list[str]:
        """-I/-isystem/-D flags of every compile of this back-end."""
        return [*(f"-I{d}" for d in self.includes), *(a for d in self.system for a in ("-isystem", str(d))), *self.defines]


def check_kernels(kernels: str) -> str:
    if kernels not in KERNELS:
        raise OptionError(f"c kernels {kernels!r}: choose {', '.join(KERNELS)}")
    return kernels


def default_root(kernels: str) -> Path:
    """The TFLM tree in ../shared/tflm the back-end's sources come from by default."""
    from targets.tflm.firmware import default_tflm_root

    return default_tflm_root(_TREES[check_kernels(kernels)])


def kernel_set(kernels: str, root: Path | None = None) -> KernelSet:
    """The sources, includes and defines of back-end ``kernels`` from TFLM tree ``root``."""
    from targets.tflm.firmware import check_tflm_root

    check_kernels(kernels)
    root = check_tflm_root(root if root is not None else default_root(kernels))
    tflm = (root, root / "third_party" / "gemmlowp", root / "third_party" / "ruy")
    if kernels == "portable":
        return KernelSet(kernels, root, (SHIM / "ek_kernels.cc", *(root / s for s in TFLM_SOURCES)), (SHIM,), tflm)
    raise UnsupportedError(f"c kernels {kernels!r}: not built yet (the CMSIS-NN back-end is under way); use portable")
