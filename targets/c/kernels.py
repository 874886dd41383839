"""What a build of a generated model compiles besides the model file, per kernel back-end:
the one list the host build (hostbuild.py) and the Cortex-M build (crossbuild.py) share.

A back-end is a set of sources compiled once per (toolchain, flags) into the object cache,
the include folders the model file and those sources need, and extra defines. The model's
own file is compiled and linked with them by each build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import OptionError
from targets.tflm.sources import firmware_root

KERNELS = ("portable", "cmsis-nn")
FIRMWARE = firmware_root()  # the source tree's firmware/, or the wheel's edgekit_firmware
SHIM = FIRMWARE / "c" / "portable"
CMSIS_NN = "third_party/cmsis_nn"  # in a TFLM tree made with OPTIMIZED_KERNEL_DIR=cmsis_nn
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
        raise OptionError(f"--c-kernels {kernels!r}: choose {', '.join(KERNELS)}")
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
    portable = (SHIM / "ek_kernels.cc", *(root / s for s in TFLM_SOURCES))
    if kernels == "portable":
        return KernelSet(kernels, root, portable, (SHIM,), tflm)
    # cmsis-nn: the CMSIS-NN library, and the portable shim for the ops it has no kernel for
    nn = root / CMSIS_NN
    if not (nn / "Include" / "arm_nnfunctions.h").is_file():
        raise OptionError(f"{root}: no {CMSIS_NN}/Include/arm_nnfunctions.h; the cmsis-nn kernels need the TFLM tree "
                          "made with OPTIMIZED_KERNEL_DIR=cmsis_nn (../shared/tflm/cmsis_nn)")  # fmt: skip
    return KernelSet(kernels, root, (*portable, *sorted((nn / "Source").rglob("*.c"))), (SHIM,), (*tflm, nn / "Include"))
