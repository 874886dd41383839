"""The tflm target with ``--firmware BOARD``: the TFLM sources, and ``edgekit firmware``'s project
for that board written into the artifact's ``firmware/`` folder (a layer above the exporter,
which knows nothing of firmware projects)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from targets.base import Artifact
from targets.tflm.boards import check_kernels, get_board
from targets.tflm.exporter import TFLMTarget
from targets.tflm.firmware import FIRMWARE_DIR, check_tflm_root, default_tflm_root, render_project


class FirmwareTFLMTarget(TFLMTarget):
    """TFLMTarget plus the firmware options (targets/tflm/options.py)."""

    def __init__(self, c_name: str | None = None, lang: str = "c", section: str | None = None,
                 labels: list[str] | None = None, arena_margin: int | None = None, layout: str | None = None,
                 keep_strings: bool = False, firmware: str | None = None, firmware_kernels: str = "reference",
                 tflm_root: str | None = None):  # fmt: skip
        super().__init__(c_name=c_name, lang=lang, section=section, labels=labels, arena_margin=arena_margin,
                         layout=layout, keep_strings=keep_strings)  # fmt: skip
        self.firmware, self.firmware_kernels = firmware, firmware_kernels
        self.tflm_root = Path(tflm_root) if tflm_root is not None else None
        if firmware is not None:  # a wrong board, library or tree is refused before any conversion
            get_board(firmware)
            check_kernels(firmware_kernels)
            check_tflm_root(self.tflm_root or default_tflm_root(firmware_kernels))

    def write_sources(self, sources, spec, out_dir: Path, data: bytes, model_name: str) -> Artifact:
        artifact = super().write_sources(sources, spec, out_dir, data, model_name)
        if self.firmware is None:
            return artifact
        from edgekit.tflite_graph import TFLiteGraph

        root = self.tflm_root or default_tflm_root(self.firmware_kernels)
        project = render_project(sources, TFLiteGraph(data, model_name), model_name=model_name, board=self.firmware,
                                 kernels=self.firmware_kernels, tflm_root=root)  # fmt: skip
        # A self-contained copy (model sources included) that `make -C` builds; listed in the
        # metadata, not in ``files``, so the artifact's size counts the model once.
        folder = artifact.directory / FIRMWARE_DIR
        folder.mkdir(exist_ok=True)
        for fname, text in project.files.items():
            (folder / fname).write_text(text)
        note = f"firmware project for {project.board.name} ({project.kernels} kernels) in {FIRMWARE_DIR}/: make -C it"
        record = {"board": project.board.name, "kernels": project.kernels, "dir": FIRMWARE_DIR, "files": sorted(project.files)}
        return replace(artifact, notes=(*artifact.notes, note), metadata={**artifact.metadata, "firmware": record})
