"""The standalone C on an emulated Cortex-M board: a c artifact's model file cross-built with
its kernel back-end (targets/c/crossbuild.py) and run under QEMU like the TFLM firmware
(same protocol, so targets.tflm.qemu_runner.QemuRunner reads the outputs and counts).

As on the host, only C edgekit generates from the artifact's NAME.tflite is built.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgekit.errors import CannotSimulate
from targets.tflm.qemu_runner import QEMU, TIMEOUT, QemuRunner
from targets.tflm.toolchain import require_tools

_TFLM = {"reference": "portable"}  # validate --on names: qemu-m4 = reference kernels (TFLM) = portable (c)


def devices() -> dict:
    """The TFLM firmware's device names (targets.tflm.boards.devices), for c artifacts of the
    matching back-end: qemu-<core> portable, qemu-<core>-cmsis-nn CMSIS-NN."""
    from targets.tflm.boards import devices as tflm_devices

    return {name: ("targets.c.qemu_runner:CQemuRunner", {"board": o["board"], "kernels": _TFLM.get(o["kernels"], o["kernels"])})
            for name, (_, o) in tflm_devices().items()}  # fmt: skip


class CQemuRunner(QemuRunner):
    """Runs a c artifact's firmware, built in a temporary folder, under QEMU."""

    name = "qemu-c"

    def __init__(self, board: str = "mps2-an386", kernels: str = "portable", tflm_root: Path | None = None,
                 timeout: float = TIMEOUT):  # fmt: skip
        super().__init__(board=board, kernels=kernels, tflm_root=tflm_root, timeout=timeout)

    @property
    def library(self) -> str:
        # the portable C calls TFLM's reference kernels: devices name that library "reference"
        return {v: k for k, v in _TFLM.items()}.get(self._kernels, self._kernels)

    def load(self, artifact) -> None:
        from targets.c.crossbuild import build
        from targets.c.runner import checked_model

        require_tools(QEMU)
        model, graph = checked_model(artifact)
        have = model.metadata()["kernels"]
        if have != self.kernels:
            raise CannotSimulate(f"{artifact.directory}: the C calls the {have} kernels; this device runs {self.kernels} "
                                 "ones (export with the other kernels, or pick the device of these)")  # fmt: skip
        self._tmp = tempfile.TemporaryDirectory(prefix="edgekit-cfw-")
        fw = build(model, graph, Path(self._tmp.name), board=self.board, root=self.tflm_root,
                   model_name=str(artifact.metadata.get("model_name", model.name)))  # fmt: skip
        self.sizes = fw.record
        self.use_elf(fw.elf, fw.board, have, graph)
