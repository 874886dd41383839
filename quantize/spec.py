"""Quantization specs: what the user asked for, independent of any target.

A ``QuantSpec`` names a scheme and the options every toolkit understands (I/O dtype,
per-channel weights, calibration size). Each target maps it onto its own converter and
declares up front which schemes it can produce, so an impossible request fails before any
work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from edgekit.errors import OptionError


@dataclass(frozen=True)
class Scheme:
    name: str
    summary: str
    needs_calibration: bool = False
    io_dtypes: tuple[str, ...] = ("float32",)

    @property
    def default_io(self) -> str:
        return self.io_dtypes[0]


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme("float32", "no quantization; the float reference on the device"),
        Scheme("float16", "weights stored as float16 (half the size); float compute"),
        Scheme("dynamic", "int8 weights, float activations quantized on the fly"),
        Scheme(
            "int8",
            "full integer: int8 weights and activations, calibrated",
            needs_calibration=True,
            io_dtypes=("int8", "uint8", "float32"),
        ),
        Scheme(
            "int16x8",
            "int16 activations, int8 weights, calibrated (more accurate than int8)",
            needs_calibration=True,
            io_dtypes=("int16", "float32"),
        ),
        Scheme("int8-weights", "weight-only linear int8 compression; float compute"),
        Scheme("int4-weights", "weight-only int4 compression; float compute"),
        Scheme("palettize4", "weights clustered to a 16-entry palette (k-means)"),
        Scheme("palettize6", "weights clustered to a 64-entry palette (k-means)"),
        Scheme("palettize8", "weights clustered to a 256-entry palette (k-means)"),
        Scheme("sparse", "pruned weights stored sparse"),
    )
}


PER_CHANNEL = ("conv", "all", "none")
# How int8 activation ranges come from the calibration data (targets.tflite.calib_range).
CALIB_RANGES = ("minmax", "mse")


@dataclass(frozen=True)
class QuantSpec:
    """One requested scheme with its target-neutral options."""

    scheme: str = "float32"
    io_dtype: str | None = None
    # Weight scales: "all" layers per channel, "conv" layers only (dense per tensor, as in
    # the MLPerf Tiny references; per-channel dense costs ~24 bytes per unit), or "none".
    per_channel: str = "conv"
    calib_size: int = 100
    float_layers: tuple[str, ...] = field(default=())
    # The scheme asked for when one --quant for every target was mapped to this target's
    # closest (CLOSEST): e.g. int8 -> int8-weights for Core ML off macOS. None: as asked.
    requested: str | None = None
    calib_range: str = "minmax"

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise OptionError(
                f"--quant: unknown scheme '{self.scheme}'; choose one of {', '.join(SCHEMES)}"
            )
        scheme = SCHEMES[self.scheme]
        if self.io_dtype is not None and self.io_dtype not in scheme.io_dtypes:
            raise OptionError(
                f"--io-dtype {self.io_dtype} does not go with scheme {self.scheme}; "
                f"it allows {', '.join(scheme.io_dtypes)}"
            )
        if self.per_channel not in PER_CHANNEL:
            raise OptionError(
                f"--per-channel {self.per_channel}: choose one of {', '.join(PER_CHANNEL)}"
            )
        if self.calib_range not in CALIB_RANGES:
            raise OptionError(f"--calib-range {self.calib_range}: choose one of {', '.join(CALIB_RANGES)}")
        if self.calib_size < 1:
            raise OptionError(f"--calib-size must be at least 1, got {self.calib_size}")

    @property
    def info(self) -> Scheme:
        return SCHEMES[self.scheme]

    @property
    def needs_calibration(self) -> bool:
        return self.info.needs_calibration

    @property
    def io(self) -> str:
        """The I/O dtype that will be used: the one asked for, else the scheme's default."""
        return self.io_dtype or self.info.default_io

    def with_scheme(self, scheme: str) -> QuantSpec:
        io = self.io_dtype if self.io_dtype in SCHEMES[scheme].io_dtypes else None
        return replace(self, scheme=scheme, io_dtype=io)

    def to_json(self) -> dict:
        """What an artifact's manifest entry records of the spec it was exported with."""
        entry = {"scheme": self.scheme, "io_dtype": self.io_dtype, "per_channel": self.per_channel,
                 "calib_size": self.calib_size, "float_layers": list(self.float_layers)}  # fmt: skip
        if self.calib_range != "minmax":  # only when asked for: the manifests of earlier builds stay as they were
            entry["calib_range"] = self.calib_range
        return entry

    @classmethod
    def from_json(cls, entry: dict) -> QuantSpec:
        """The spec a manifest entry records; ValueError/TypeError/KeyError if it is not one."""
        layers = entry.get("float_layers") or []
        if not isinstance(layers, list) or not all(isinstance(n, str) for n in layers):
            raise TypeError("float_layers is not a list of names")
        try:
            return cls(entry["scheme"], entry.get("io_dtype"), entry.get("per_channel", "conv"),
                       int(entry.get("calib_size", 100)), tuple(layers),
                       calib_range=entry.get("calib_range", "minmax"))  # fmt: skip
        except OptionError as e:  # the message names a flag; here it is the manifest that is wrong
            raise ValueError(str(e)) from None


# scheme -> the schemes that keep most of what it asks for, best first, for a target that cannot
# produce it. Applied only to a scheme given for every target (``-q int8``); ``coreml=int8`` is exact.
CLOSEST: dict[str, tuple[str, ...]] = {
    "int8": ("int8-weights",),  # Core ML calibrates activations only on macOS: int8 weights, float compute
    "dynamic": ("int8-weights",),  # int8 weights; the float activations stay float
    "int8-weights": ("dynamic",),  # TFLite's int8 weights are dynamic-range quantization
}


def parse_quant_plan(text: str | dict | list, targets: list[str]) -> dict[str, tuple[str, ...]]:
    """Read ``--quant`` into the schemes each target must produce.

    ``int8`` or ``float32,int8`` apply to every target; ``tflite=int8,coreml=palettize4``
    names a target per item (an item may repeat a target to ask for several schemes).
    A TOML table ``{tflite = "int8", coreml = ["float16", "palettize4"]}`` works too.
    """
    return {t: tuple(dict.fromkeys(s for s, _ in items)) for t, items in _plan_items(text, targets).items()}


def closest_plan(text: str | dict | list, targets: list[str], supported: dict[str, frozenset[str]]
                 ) -> dict[str, tuple[tuple[str, str], ...]]:  # fmt: skip
    """``parse_quant_plan`` where a scheme given for several targets at once that target ``t``
    cannot produce (not in ``supported[t]``) becomes the first of its CLOSEST that ``t`` can:
    target -> ((scheme, requested scheme), ...). Without a close one it stays, so the target
    refuses it; a scheme also asked for exactly keeps only its exact entry. With one target,
    ``-q int8`` means ``target=int8``: exact."""
    plan = {}
    shared = len(set(targets)) > 1
    for t, items in _plan_items(text, targets).items():
        pairs: dict[str, str] = {}  # scheme made -> scheme asked for
        for scheme, for_all in items:
            done = scheme
            if shared and for_all and scheme not in supported[t]:
                done = next((c for c in CLOSEST.get(scheme, ()) if c in supported[t]), scheme)
            if done not in pairs or done == scheme:  # the first mention keeps its place; exact wins
                pairs[done] = scheme
        plan[t] = tuple(pairs.items())
    return plan


def _plan_items(text: str | dict | list, targets: list[str]) -> dict[str, list[tuple[str, bool]]]:
    """target -> [(scheme, given for every target), ...] in the order asked."""
    items: list[tuple[str | None, str]] = []
    if isinstance(text, dict):
        for target, value in text.items():
            for scheme in [value] if isinstance(value, str) else list(value):
                items.append((str(target), str(scheme)))
    else:
        parts = text.split(",") if isinstance(text, str) else [str(p) for p in text]
        for part in (p.strip() for p in parts):
            if not part:
                continue
            target, sep, scheme = part.partition("=")
            items.append((target.strip(), scheme.strip()) if sep else (None, part))
    if not items:
        raise OptionError("--quant is empty; give a scheme such as int8 or tflite=int8")

    plan: dict[str, list[tuple[str, bool]]] = {t: [] for t in targets}
    for target, scheme in items:
        if scheme not in SCHEMES:
            raise OptionError(
                f"--quant: unknown scheme '{scheme}'; choose one of {', '.join(SCHEMES)}"
            )
        if target is None:
            for t in targets:
                plan[t].append((scheme, True))
        elif target not in plan:
            raise OptionError(
                f"--quant names target '{target}', which is not in --target ({', '.join(targets)})"
            )
        else:
            plan[target].append((scheme, False))
    for t, schemes in plan.items():
        if not schemes:
            raise OptionError(f"--quant gives no scheme for target '{t}'")
    return plan
