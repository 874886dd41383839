"""Pruning specs: what ``--prune`` asked for, parsed and checked before any work starts.

Three kinds, each one ``--prune`` value (the option repeats; the TOML key takes a string or a
list of strings):

- ``channels=0.3`` structured channel pruning: remove 30% of the filters/units of every
  prunable group. Options after the ratio, comma-separated: ``criterion=l1|l2|activation``,
  ``layers=conv|dense|all`` or name patterns joined by ``+`` (``layers=conv2d*``),
  ``exclude=NAME+NAME`` and per-layer ratios ``NAME=0.5`` (glob patterns allowed).
- ``sparsity=0.8`` magnitude (unstructured) pruning to 80% zero weights. Options:
  ``mode=global`` (one threshold over all kernels, the default: on the digits example it
  keeps 96.7% top-1 where per-layer keeps 63.2%) or ``mode=layer`` (each kernel to the
  sparsity), ``exclude=...``, per-layer ``NAME=0.9`` (implies mode=layer).
- ``ops`` operator pruning: drop layers that do nothing at inference (Dropout, identity,
  no-op reshapes) and fold BatchNormalization into the conv/dense before it. ``ops,fold_bn=no``
  keeps BatchNormalization layers.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from edgekit.errors import OptionError

KINDS = ("channels", "sparsity", "ops")
CRITERIA = ("l1", "l2", "activation")
SCOPES = ("all", "conv", "dense")
MODES = ("global", "layer")
# Applied in this order whatever order the options came in: graph clean-up first, then
# structure, then the zeros (so the masks of magnitude pruning are the last word).
ORDER = {"ops": 0, "channels": 1, "sparsity": 2}


@dataclass(frozen=True)
class PruneSpec:
    kind: str
    ratio: float = 0.0  # channels: share of channels removed; sparsity: share of zero weights
    criterion: str = "l1"
    layers: tuple[str, ...] = ("all",)  # scopes or name patterns the pruning applies to
    exclude: tuple[str, ...] = ()
    per_layer: tuple[tuple[str, float], ...] = ()  # (name pattern, ratio), first match wins
    mode: str = "global"  # sparsity: one threshold over all kernels, or each kernel to the ratio
    fold_bn: bool = True
    text: str = field(default="", compare=False)

    def ratio_for(self, name: str) -> float:
        for pattern, ratio in self.per_layer:
            if fnmatch.fnmatchcase(name, pattern):
                return ratio
        return self.ratio

    def excluded(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.exclude)

    def in_scope(self, name: str, class_name: str) -> bool:
        """Whether layer ``name`` of Keras class ``class_name`` is covered by ``layers=``."""
        if self.excluded(name):
            return False
        if any(fnmatch.fnmatchcase(name, p) for p, _ in self.per_layer):
            return True
        for item in self.layers:
            if item == "all":
                return True
            if item == "conv" and "Conv" in class_name:
                return True
            if item == "dense" and class_name == "Dense":
                return True
            if item not in SCOPES and fnmatch.fnmatchcase(name, item):
                return True
        return False

    def describe(self) -> str:
        if self.kind == "ops":
            return "operator pruning" + ("" if self.fold_bn else " (BatchNormalization kept)")
        what = "channels" if self.kind == "channels" else "weights (magnitude)"
        extra = f", {self.criterion}" if self.kind == "channels" else f", per {self.mode}"
        return f"{100 * self.ratio:g}% of {what}{extra}"

    def to_json(self) -> dict:
        d = {"kind": self.kind, "spec": self.text}
        if self.kind != "ops":
            d.update(ratio=self.ratio, exclude=list(self.exclude), per_layer=dict(self.per_layer))
        if self.kind == "channels":
            d.update(criterion=self.criterion, layers=list(self.layers))
        if self.kind == "sparsity":
            d["mode"] = self.mode
        if self.kind == "ops":
            d["fold_bn"] = self.fold_bn
        return d


def _ratio(text: str, where: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"{option} '{where}': '{text}' is not a number; give a ratio such as 0.3") from None
    if not 0.0 <= value < 1.0:
        raise OptionError(f"{option} '{where}': ratio {text} must be at least 0 and below 1")
    return value


def parse_prune_spec(text: str, option: str = "--prune") -> PruneSpec:
    """One ``--prune`` value into a PruneSpec; any mistake is one OptionError line."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise OptionError(f"{option} is empty; give channels=0.3, sparsity=0.8 or ops")
    kind, sep, value = parts[0].partition("=")
    kind = kind.strip()
    if kind not in KINDS:
        raise OptionError(f"{option} '{text}': unknown kind '{kind}'; give channels=0.3, sparsity=0.8 or ops")
    if kind == "ops":
        if sep:
            raise OptionError(f"{option} '{text}': 'ops' takes no ratio (write ops or ops,fold_bn=no)")
        fold = True
        for part in parts[1:]:
            key, _, val = part.partition("=")
            if key.strip() != "fold_bn" or val.strip() not in ("yes", "no", "true", "false"):
                raise OptionError(f"{option} '{text}': unknown option '{part}' for ops; only fold_bn=yes|no")
            fold = val.strip() in ("yes", "true")
        return PruneSpec("ops", fold_bn=fold, text=str(text))
    if not sep:
        raise OptionError(f"{option} '{text}': give a ratio, as in {kind}=0.5")
    opts: dict = {"kind": kind, "ratio": _ratio(value.strip(), text, option), "text": str(text)}
    per_layer: list[tuple[str, float]] = []
    for part in parts[1:]:
        key, sep, val = (s.strip() for s in part.partition("="))
        if not sep or not key or not val:
            raise OptionError(f"{option} '{text}': '{part}' is not KEY=VALUE")
        if key == "exclude":
            opts["exclude"] = tuple(v for v in val.split("+") if v)
        elif key == "criterion" and kind == "channels":
            if val not in CRITERIA:
                raise OptionError(f"{option} '{text}': criterion '{val}'; choose {', '.join(CRITERIA)}")
            opts["criterion"] = val
        elif key == "layers" and kind == "channels":
            opts["layers"] = tuple(v for v in val.split("+") if v)
        elif key == "mode" and kind == "sparsity":
            if val not in MODES:
                raise OptionError(f"{option} '{text}': mode '{val}'; choose {', '.join(MODES)}")
            opts["mode"] = val
        else:  # a layer name (or glob) with its own ratio
            per_layer.append((key, _ratio(val, text, option)))
    opts["per_layer"] = tuple(per_layer)
    return PruneSpec(**opts)


def parse_prune_specs(values, option: str = "--prune") -> list[PruneSpec]:
    """All ``--prune`` values (a string or a list), one spec per kind, in application order."""
    items = [values] if isinstance(values, str) else list(values or ())
    specs = [parse_prune_spec(v, option) for v in items]
    kinds = [s.kind for s in specs]
    for k in KINDS:
        if kinds.count(k) > 1:
            raise OptionError(f"{option}: '{k}' given {kinds.count(k)} times; give each kind once")
    return sorted(specs, key=lambda s: ORDER[s.kind])
