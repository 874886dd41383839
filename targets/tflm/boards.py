"""Emulated boards a TFLM firmware project is built for: memory map, compiler flags, QEMU machine.

Facts of the QEMU 7.2 machines (hw/arm/mps2.c) and TFLM's cortex_m_generic flags (see
../shared/tflm/PROVENANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import OptionError

KERNELS = ("reference", "cmsis-nn")


@dataclass(frozen=True)
class Board:
    name: str
    core: str
    cpu_flags: tuple[str, ...]
    qemu_machine: str
    flash_origin: int
    flash_size: int
    ram_origin: int
    ram_size: int
    memory_note: str

    @property
    def qemu_args(self) -> tuple[str, ...]:
        """QEMU's command line without ``-kernel``: semihosting on, serial/monitor on stdio."""
        return ("-M", self.qemu_machine, "-nographic", "-semihosting-config", "enable=on,target=native")


BOARDS = {
    "mps2-an386": Board(
        name="mps2-an386", core="Cortex-M4F",
        cpu_flags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        qemu_machine="mps2-an386",
        flash_origin=0x00000000, flash_size=0x00400000, ram_origin=0x20000000, ram_size=0x00400000,
        memory_note="Code in ZBT SSRAM1 (4 MB at 0x0, where the core boots), data in ZBT SSRAM2/3 (4 MB at 0x20000000).",
    ),
}  # fmt: skip


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise OptionError(f"--board {name!r}: choose one of {', '.join(sorted(BOARDS))}") from None


# Kernel libraries a project can be built with today. CMSIS-NN's flags and kernel selection
# exist (KERNELS), but its library sources are not compiled yet, so its projects do not link.
BUILDABLE = ("reference",)


def check_kernels(kernels: str) -> str:
    if kernels not in BUILDABLE:
        later = " (CMSIS-NN projects do not link yet: its library sources are not built)" if kernels in KERNELS else ""
        raise OptionError(f"--kernels {kernels!r}: choose {', '.join(BUILDABLE)}{later}")
    return kernels


@dataclass(frozen=True)
class Flags:
    """Compiler and linker flags of one build; the object cache key includes them."""

    cpu: tuple[str, ...]
    defines: tuple[str, ...]
    includes: tuple[str, ...]  # relative to the TFLM root
    common: tuple[str, ...] = ("-ffunction-sections", "-fdata-sections", "-fno-common", "-g0")
    cxx: tuple[str, ...] = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-fno-unwind-tables")
    c: tuple[str, ...] = ("-std=c11",)
    core_opt: str = "-Os"  # TFLM's cortex_m_generic: the runtime for size, the kernels for speed
    kernel_opt: str = "-O2"
    app_opt: str = "-Os"
    # -nostartfiles: startup.c is the entry; newlib-nano with the semihosting syscalls (rdimon).
    ld: tuple[str, ...] = ("-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-Wl,--gc-sections")
    libs: tuple[str, ...] = ("-lm",)

    def key_text(self) -> str:
        """Everything that changes a TFLM object: for the cache key."""
        return "\n".join([*self.cpu, *self.defines, *self.includes, *self.common, *self.cxx, self.core_opt, self.kernel_opt])


def flags_for(board: Board, kernels: str) -> Flags:
    defines = ["-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_MCU_DEBUG_LOG", "-DPROJECT_GENERATION"]
    includes = ["", "third_party/flatbuffers/include", "third_party/gemmlowp", "third_party/ruy"]
    if kernels == "cmsis-nn":
        defines.append("-DCMSIS_NN")
        includes += ["third_party/cmsis_nn", "third_party/cmsis_nn/Include", "third_party/cmsis/CMSIS/Core/Include"]
    return Flags(cpu=board.cpu_flags, defines=tuple(defines), includes=tuple(i for i in includes))
