"""Options of the TFLite Micro sources (``edgekit export -t tflm``)."""

from __future__ import annotations

from edgekit.options import Option
from targets.tflm.boards import BOARDS, KERNELS

# targets.tflm.exporter.MAX_MARGIN (not imported: this module is read for `edgekit --help`,
# the exporter pulls in numpy; tests/test_options.py keeps the two equal).
MAX_MARGIN = 64 * 1024 * 1024
_HEADER = "[`edgekit header`](tflm.md#edgekit-header-modeltflite)"

OPTIONS: tuple[Option, ...] = (
    Option("labels", ("--labels",), is_path=True, arg="labels",
           help="Text file with the class labels, one per line, in output order.",
           doc="class labels, one per line (TFLM settings header; makes Core ML packages classifiers); a regular "
               "UTF-8 file of at most 8 MiB"),
    Option("c_name", ("--c-name",), arg="c_name",
           help="C targets: prefix of the generated C symbols and files (default: the model name).",
           doc=f"prefix of the generated C symbols and files, as `--name` of {_HEADER}"),
    Option("lang", ("--lang",), default="c", choices=("c", "cc"), formats=("tflm",), arg="lang",
           help="tflm: model data as C (default) or C++.", doc=f"model data as C or C++, as `--lang` of {_HEADER}"),
    Option("section", ("--section",), arg="section",
           help="C targets: linker section for the model data (e.g. .rodata.model).",
           doc=f"linker section for the model data, as `--section` of {_HEADER}"),
    Option("arena_margin", ("--arena-margin",), type=int, min=0, max=MAX_MARGIN, unit="bytes", formats=("tflm",),
           arg="arena_margin", range_hint=f"give 0 to {MAX_MARGIN:,} bytes of headroom added to the measured arena "
                                          "(default: 5%, at least 1 KiB)",
           help="tflm: bytes added to the measured arena (default 5%, >= 1 KiB).",
           doc=f"bytes added to the measured arena (default 5%, at least 1 KiB), as `--arena-margin` of {_HEADER}"),
    Option("keep_strings", ("--keep-strings",), type=bool, default=False, formats=("tflm",), arg="keep_strings",
           help="tflm: keep the tensor names, signatures and metadata TFLM never reads in the model data.",
           doc="keep the tensor names, signatures and metadata TFLM never reads in the model array (by default "
               "they are stripped to save flash and listed in `NAME_names.json`), as `--keep-strings` of "
               f"{_HEADER}"),
    Option("firmware", ("--firmware",), choices=tuple(BOARDS), formats=("tflm",), arg="firmware",
           help="tflm: also write a firmware project for this emulated board into the artifact's firmware/ folder.",
           doc="also write the [firmware project](firmware.md) for this emulated board (as `edgekit firmware "
               "--board`) into the artifact's `firmware/` folder"),
    Option("firmware_kernels", ("--firmware-kernels",), default="reference", choices=KERNELS, formats=("tflm",),
           arg="firmware_kernels", help="tflm: kernel library of the --firmware project (reference or cmsis-nn).",
           doc="TFLM kernel library of the `--firmware` project, as `edgekit firmware --kernels`"),
    Option("tflm_root", ("--tflm-root",), is_path=True, formats=("tflm",), arg="tflm_root",
           help="tflm: TFLM source tree the --firmware project builds against (default: ../shared/tflm).",
           doc="TFLM source tree the `--firmware` project builds against, as `edgekit firmware --tflm-root`"),
)  # fmt: skip
READS: dict[str, str] = {}
