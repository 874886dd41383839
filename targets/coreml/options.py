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
           help="coreml: minimum deployment target (iOS16 default; iOS15..iOS18, macOS12..macOS15, ...).",
           doc="minimum deployment target: `iOS15`–`iOS18`, `macOS12`–`macOS15`, `watchOS8`–`11`, `tvOS15`–`18`; "
               "default `iOS16` (compressed schemes need iOS16/macOS13 or later)"),
    Option("precision", ("--coreml-precision",), choices=("float16", "float32"), **_CM,
           help="coreml: compute precision of compressed schemes (default float16).",
           doc="compute precision of the compressed schemes: `float16` (default) or `float32`; `float32`/`float16` "
               "schemes fix their own"),
    Option("input", ("--coreml-input",), choices=("tensor", "image"), **_CM,
           help="coreml: input as a tensor (default) or an image (scale/bias from --scale/--mean/--std).",
           doc="`tensor` (default) or `image`: a Core ML image input whose `scale`/`bias` are edgekit's "
               "`--scale`/`--mean`/`--std` (`pixel * scale/std - mean/std`; one `--std` for all channels)"),
    Option("color_layout", choices=("RGB", "BGR", "G"), **_CM, help="Channel order of an image input (default RGB).",
           doc="image inputs: `RGB` (default), `BGR`; one-channel inputs are `G` (grayscale)"),
    Option("input_names", toml="strings", **_CM, help="Names of the package's inputs (default: the source model's)."),
    Option("output_names", toml="strings", **_CM, help="Names of the package's outputs (default: the source model's)."),
    *(Option(key, toml="any", **_CM, help=f"Model metadata shown in Xcode: {key}.")
      for key in ("author", "license", "version", "description")),
    Option("sparsity", type=float, **_CM, help="Fraction of each weight tensor the sparse scheme zeroes (default 0.5)."),
)  # fmt: skip
READS: dict[str, str] = {"preprocess": "preprocess"}
