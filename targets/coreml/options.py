"""Options of the Core ML target: three flags and the keys of the ``[export.coreml]`` table.

All of them live in ``ExportOptions.coreml`` (a dict), which ``CoreMLTarget`` checks; the
choices here equal the exporter's (tests/test_options.py), which this module does not import
because the CLI reads it for ``--help`` and the exporter pulls in numpy.
"""

from __future__ import annotations

from edgekit.options import Option

_CM = {"table": "coreml", "formats": ("coreml",)}

OPTIONS: tuple[Option, ...] = (
    Option("coreml", type=dict, toml="table", default={}, formats=("coreml",), arg="options",
           help="Core ML options (the keys below), an [export.coreml] table in a config file."),
    Option("deployment_target", ("--coreml-target",), **_CM,
           help="coreml: minimum deployment target (iOS16 default; iOS15..iOS18, macOS12..macOS15, ...)."),
    Option("precision", ("--coreml-precision",), choices=("float16", "float32"), **_CM,
           help="coreml: compute precision of compressed schemes (default float16)."),
    Option("input", ("--coreml-input",), choices=("tensor", "image"), **_CM,
           help="coreml: input as a tensor (default) or an image (scale/bias from --scale/--mean/--std)."),
    Option("color_layout", choices=("RGB", "BGR", "G"), **_CM, help="Channel order of an image input (default RGB)."),
    Option("input_names", toml="strings", **_CM, help="Names of the package's inputs, in model order."),
    Option("output_names", toml="strings", **_CM, help="Names of the package's outputs, in model order."),
    Option("sparsity", type=float, **_CM, help="Share of each weight tensor the sparse scheme zeroes (default 0.5)."),
    *(Option(key, toml="any", **_CM, help=f"Package metadata: {key}.") for key in ("author", "license", "version", "description")),
)  # fmt: skip
# --labels (declared with tflm) reaches the constructor too: it makes a classifier.
READS: dict[str, str] = {"preprocess": "preprocess"}
