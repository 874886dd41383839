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
    timer_hz: int  # QEMU's clock of the core (SysTick's processor clock): ns per tick = 1e9 / timer_hz
    rodata: tuple[int, int] | None = None  # (origin, size) of a read-only region for .rodata (the model), else in FLASH
    # CMSIS-NN's code path on this core: "mve" (Helium), "dsp" (the DSP extension) or "plain";
    # what the compiler's __ARM_FEATURE_MVE / __ARM_FEATURE_DSP say for cpu_flags (a test checks).
    cmsis_nn_features: str = "dsp"

    @property
    def qemu_args(self) -> tuple[str, ...]:
        """QEMU's command line without ``-kernel``: semihosting on, serial/monitor on stdio, and
        ``-icount shift=0``: the emulated clock advances 1 ns per instruction, so the
        firmware's timer counts instructions (and runs are deterministic)."""
        return ("-M", self.qemu_machine, "-nographic", "-semihosting-config", "enable=on,target=native",
                "-icount", "shift=0")  # fmt: skip

    @property
    def instructions_per_tick(self) -> float:
        """Instructions per timer tick under ``-icount shift=0``: the counts' resolution."""
        return 1e9 / self.timer_hz


def _board(machine: str, core: str, cpu: str, flash: tuple[int, int], ram: tuple[int, int], note: str,
           hz: int, rodata: tuple[int, int] | None = None, features: str = "dsp") -> Board:  # fmt: skip
    """A QEMU machine's Board: ``cpu`` the -mcpu/FPU flags after -mthumb, ``flash``/``ram`` (origin, size),
    ``hz`` the machine's system clock (QEMU hw/arm/mps2.c, mps2-tz.c: sysclk_frq)."""
    cpu_flags = (cpu.split()[0], "-mthumb", *cpu.split()[1:])
    return Board(machine, core, cpu_flags, machine, *flash, *ram, note, hz, rodata, features)


_4MB, _SSRAM = 0x00400000, "ZBT SSRAM1 (4 MB at 0x0, where the core boots), data in ZBT SSRAM2/3 (4 MB at 0x20000000)"
BOARDS = {b.name: b for b in (
    _board("mps2-an386", "Cortex-M4F", "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16",
           (0x0, _4MB), (0x20000000, _4MB), f"Code in {_SSRAM}.", 25_000_000),
    _board("mps2-an500", "Cortex-M7 (double-precision FPU)", "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16",
           (0x0, _4MB), (0x20000000, _4MB), f"The an386 map: code in {_SSRAM}.", 25_000_000),
    # The TrustZone boards boot in the secure state with the SAU off, so all memory is secure;
    # the image is linked at the secure aliases (bit 28 set), where the secure vector table is.
    _board("mps2-an505", "Cortex-M33 (TrustZone, runs secure)", "-mcpu=cortex-m33 -mfloat-abi=hard -mfpu=fpv5-sp-d16",
           (0x10000000, _4MB), (0x38000000, _4MB),
           "Secure aliases: code in ZBT SSRAM1 (4 MB at 0x10000000, the secure boot vector), data in ZBT SSRAM2/3 (4 MB at 0x38000000).",
           20_000_000),
    _board("mps3-an547", "Cortex-M55 (Helium MVE, TrustZone, runs secure)", "-mcpu=cortex-m55 -mfloat-abi=hard",
           (0x10000000, 0x00080000), (0x31000000, _4MB),
           "Secure aliases: code in the ITCM (512 KB at 0x10000000), read-only data and the model in the QSPI "
           "flash (8 MB at 0x38000000), data in ISRAM0/1 (4 MB at 0x31000000).", 32_000_000, rodata=(0x38000000, 0x00800000),
           features="mve"),
)}  # fmt: skip


def devices() -> dict:
    """``validate --on`` device name -> (runner, options): qemu-<core> with the reference
    kernels, qemu-<core>-cmsis-nn with CMSIS-NN's (the Format's ``devices`` hook)."""
    out = {}
    for board in BOARDS.values():
        core = board.core.split()[0].removeprefix("Cortex-").removesuffix("F").lower()
        for kernels in KERNELS:
            name = f"qemu-{core}" + ("" if kernels == "reference" else f"-{kernels}")
            out[name] = ("targets.tflm.qemu_runner:QemuRunner", {"board": board.name, "kernels": kernels})
    return out


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise OptionError(f"--board {name!r}: choose one of {', '.join(sorted(BOARDS))}") from None


def check_kernels(kernels: str) -> str:
    if kernels not in KERNELS:
        raise OptionError(f"--kernels {kernels!r}: choose {', '.join(KERNELS)}")
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
    c_objects: bool = False  # the cache holds C objects too (CMSIS-NN's library)

    def key_text(self) -> str:
        """Everything that changes a TFLM object: for the cache key."""
        c = [*self.c] if self.c_objects else []  # reference builds have no cached C objects
        return "\n".join([*self.cpu, *self.defines, *self.includes, *self.common, *self.cxx, *c, self.core_opt, self.kernel_opt])


def flags_for(board: Board, kernels: str) -> Flags:
    defines = ["-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_MCU_DEBUG_LOG", "-DPROJECT_GENERATION"]
    includes = ["", "third_party/flatbuffers/include", "third_party/gemmlowp", "third_party/ruy"]
    if kernels == "cmsis-nn":
        defines.append("-DCMSIS_NN")
        includes += ["third_party/cmsis_nn", "third_party/cmsis_nn/Include", "third_party/cmsis/CMSIS/Core/Include"]
    return Flags(cpu=board.cpu_flags, defines=tuple(defines), includes=tuple(includes), c_objects=kernels == "cmsis-nn")
