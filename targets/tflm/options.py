"""Options of the TFLite Micro sources (``edgekit export -t tflm``)."""

from __future__ import annotations

from edgekit.options import Option

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
)  # fmt: skip
READS: dict[str, str] = {}
