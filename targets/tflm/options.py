"""Options of the TFLite Micro sources (``edgekit export -t tflm``)."""

from __future__ import annotations

from edgekit.options import Option

# targets.tflm.exporter.MAX_MARGIN (not imported: this module is read for `edgekit --help`,
# the exporter pulls in numpy; tests/test_options.py keeps the two equal).
MAX_MARGIN = 64 * 1024 * 1024

OPTIONS: tuple[Option, ...] = (
    Option("labels", ("--labels",), is_path=True, formats=("tflm", "coreml"), arg="labels",
           help="Text file with the class labels, one per line, in output order."),
    Option("c_name", ("--c-name",), formats=("tflm",), arg="c_name",
           help="tflm: prefix of the generated C symbols and files (default: the model name)."),
    Option("lang", ("--lang",), default="c", choices=("c", "cc"), formats=("tflm",), arg="lang",
           help="tflm: model data as C (default) or C++."),
    Option("section", ("--section",), formats=("tflm",), arg="section",
           help="tflm: linker section for the model data (e.g. .rodata.model)."),
    Option("arena_margin", ("--arena-margin",), type=int, min=0, max=MAX_MARGIN, unit="bytes", formats=("tflm",),
           arg="arena_margin", range_hint=f"give 0 to {MAX_MARGIN:,} bytes of headroom added to the measured arena "
                                          "(default: 5%, at least 1 KiB)",
           help="tflm: bytes added to the measured arena (default 5%, >= 1 KiB)."),
)  # fmt: skip
READS: dict[str, str] = {}
