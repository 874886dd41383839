"""Regression gates: thresholds and a baseline that make CI fail on a worse export."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.errors import OptionError
from edgekit.files import read_bounded
from edgekit.options import BASELINE_TOLERANCE, MAX_DROP, MIN_ACCURACY, MIN_COSINE


@dataclass(frozen=True)
class Gates:
    """Gate bounds, checked on construction. Accuracy bounds are in percent (0-100) and
    percentage points; a cosine is a fraction in [-1, 1]."""

    max_drop: float | None = None  # percentage points of top-1 (or AUC) the artifact may lose against float
    min_cosine: float | None = None  # cosine with the float model, every output
    min_accuracy: float | None = None  # artifact top-1 (or AUC) in percent
    baseline: Path | None = None
    update_baseline: bool = False
    baseline_tolerance: float = 0.1  # percentage points an artifact may lose against the baseline

    def __post_init__(self):
        for option, value in ((MAX_DROP, self.max_drop), (MIN_ACCURACY, self.min_accuracy),
                              (BASELINE_TOLERANCE, self.baseline_tolerance), (MIN_COSINE, self.min_cosine)):  # fmt: skip
            option.check(value)  # the ranges and units edgekit.options declares
        if self.min_accuracy is not None and 0 < self.min_accuracy <= 1:
            # A fraction typed where percent is meant would turn the gate into a no-op.
            m = self.min_accuracy
            raise OptionError(
                f"--min-accuracy {m:g} is in percent, so it means {m:g}% (almost any model passes); "
                f"for {100 * m:g}% write --min-accuracy {100 * m:g}"
            )
        if self.update_baseline and self.baseline is None:
            raise OptionError("--update-baseline needs --baseline FILE (the file to write)")

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_drop, self.min_cosine, self.min_accuracy, self.baseline))

    def check_data(self, task: str, labelled: bool) -> None:
        """Refuse, before anything runs, a top-1/AUC gate that the data or task cannot score."""
        for option, value in (("--max-drop", self.max_drop), ("--min-accuracy", self.min_accuracy)):
            if value is not None and task == "regression":
                raise OptionError(f"{option} scores top-1 or AUC, which the regression task has none of; use --min-cosine")
            if value is not None and not labelled:
                raise OptionError(f"{option} needs labelled evaluation data for the {task} metric (a 'y' array or class sub-directories)")

    def read_baseline(self) -> dict | None:
        """The baseline to compare against (None without one, or when it is being rewritten)."""
        if self.baseline is None:
            return None
        if self.update_baseline:
            if not Path(self.baseline).parent.is_dir():
                raise OptionError(f"--baseline {self.baseline}: its directory does not exist")
            return None
        return read_baseline(self.baseline)


@dataclass(frozen=True)
class GateResult:
    artifact: str
    gate: str
    metric: str
    value: float
    bound: float
    passed: bool
    message: str
    note: bool = False  # information (a baseline entry not compared), not a check: never fails

    def to_json(self) -> dict:
        return asdict(self)


def headline(entry: dict, task: str) -> tuple[str, float] | None:
    """The task metric of one result entry: (name, value in [0, 1]) or None."""
    key = "auc" if task == "anomaly" else "top1"
    value = entry.get(key)
    return (key, float(value)) if isinstance(value, (int, float)) else None


def _pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def check(result: dict, gates: Gates) -> list[GateResult]:
    """Evaluate every gate for every artifact of an evaluation result.

    A gate never passes on nothing: with no artifact evaluated, or a baseline that shares no
    artifact with the run, the result holds a failed check saying so.
    """
    out: list[GateResult] = []
    task = result["task"]
    base = headline(result["float"], task)
    baseline = gates.read_baseline()
    if gates.any and not result["artifacts"]:
        out.append(GateResult("(none)", "validated", "artifacts", 0.0, 1.0, False,
            "no artifact was validated, so no gate could pass"))  # fmt: skip
    for key, entry in result["artifacts"].items():
        head = headline(entry, task)
        if gates.max_drop is not None:
            if head is None or base is None:
                raise OptionError(f"--max-drop needs labelled evaluation data for the {task} metric")
            drop = 100 * (base[1] - head[1])
            ok = drop <= gates.max_drop
            out.append(GateResult(key, "max_drop", head[0], drop, gates.max_drop, ok,
                f"{key}: {head[0]} {_pct(head[1])} vs float {_pct(base[1])}: drop {drop:.2f} points "
                f"({'within' if ok else 'exceeds'} --max-drop {gates.max_drop})"))  # fmt: skip
        if gates.min_accuracy is not None:
            if head is None:
                raise OptionError(f"--min-accuracy needs labelled evaluation data for the {task} metric")
            ok = 100 * head[1] >= gates.min_accuracy
            out.append(GateResult(key, "min_accuracy", head[0], 100 * head[1], gates.min_accuracy, ok,
                f"{key}: {head[0]} {_pct(head[1])} ({'meets' if ok else 'below'} --min-accuracy {gates.min_accuracy:g}%)"))  # fmt: skip
        if gates.min_cosine is not None:
            for o in entry["outputs"]:
                value = o["cosine"]
                ok = isinstance(value, float) and value >= gates.min_cosine
                shown = f"{value:.6f}" if isinstance(value, float) else str(value)
                out.append(GateResult(key, "min_cosine", f"cosine[{o['name']}]", value, gates.min_cosine, ok,
                    f"{key}: cosine {shown} on output '{o['name']}' ({'meets' if ok else 'below'} --min-cosine {gates.min_cosine:g})"))  # fmt: skip
        if baseline is not None:
            out += _against_baseline(key, entry, head, baseline["artifacts"].get(key), gates)
    if baseline is not None:
        out += _baseline_coverage(result, baseline, gates, compared=sum(r.gate == "baseline" and not r.note for r in out))
    return out


def _against_baseline(key: str, entry: dict, head, then: dict | None, gates: Gates) -> list[GateResult]:
    """The checks of one artifact against its baseline entry."""
    if then is None:  # a new artifact is reported, not failed
        return [GateResult(key, "baseline", "coverage", 0.0, 0.0, True,
                f"{key}: not in --baseline {gates.baseline}; not compared (add it with --update-baseline)", note=True)]  # fmt: skip
    out = []
    if head is not None and head[0] in then:
        loss = 100 * (then[head[0]] - head[1])
        ok = loss <= gates.baseline_tolerance
        out.append(GateResult(key, "baseline", head[0], 100 * head[1], 100 * then[head[0]] - gates.baseline_tolerance, ok,
            f"{key}: {head[0]} {_pct(head[1])} vs baseline {_pct(then[head[0]])} "
            f"({'within' if ok else 'worse than'} the {gates.baseline_tolerance:g}-point tolerance)"))  # fmt: skip
    if "cosine" in then and isinstance(entry.get("cosine"), float):
        ok = entry["cosine"] >= then["cosine"] - 1e-4
        out.append(GateResult(key, "baseline", "cosine", entry["cosine"], then["cosine"] - 1e-4, ok,
            f"{key}: cosine {entry['cosine']:.6f} vs baseline {then['cosine']:.6f}"))  # fmt: skip
    return out


def _baseline_coverage(result: dict, baseline: dict, gates: Gates, compared: int) -> list[GateResult]:
    """A failed check when the baseline compared nothing; its artifacts this run lacks, reported."""
    ran, kept = list(result["artifacts"]), list(baseline["artifacts"])
    if not compared:
        return [GateResult("(baseline)", "baseline", "artifacts", 0.0, 1.0, False,
                f"--baseline {gates.baseline}: no metric of this run could be compared with it "
                f"(it has {', '.join(kept) or 'no artifacts'}; this run: {', '.join(ran) or 'none'}); "
                "fix the file or write a new one with --update-baseline")]  # fmt: skip
    return [GateResult(k, "baseline", "coverage", 0.0, 0.0, True, f"{k}: in --baseline {gates.baseline} but not in this run",
                       note=True) for k in kept if k not in result["artifacts"]]  # fmt: skip


def baseline_of(result: dict) -> dict:
    """The metrics a baseline file keeps, per artifact."""
    keep = ("top1", "auc", "cosine", "agreement")
    return {
        "edgekit_baseline": 1,
        "task": result["task"],
        "samples": result["samples"],
        # A NaN metric (AUC of a one-class set) would be written as null and refused on reading.
        "artifacts": {k: {m: e[m] for m in keep if isinstance(e.get(m), float) and math.isfinite(e[m])}
                      for k, e in result["artifacts"].items()},
    }


def read_baseline(path: Path) -> dict:
    """A baseline file, every metric checked: a bad file is one OptionError naming it and the key."""
    try:
        data = json.loads(read_bounded(path, "--baseline"))
    except FileNotFoundError:
        raise OptionError(f"--baseline {path}: no such file; create it with --update-baseline") from None
    except (OSError, ValueError) as e:
        raise OptionError(f"--baseline {path}: unreadable ({e})") from e
    if not isinstance(data, dict) or data.get("edgekit_baseline") != 1 or not isinstance(data.get("artifacts"), dict):
        raise OptionError(f"--baseline {path}: not an edgekit baseline file")
    for key, metrics in data["artifacts"].items():
        if not isinstance(metrics, dict):
            raise OptionError(f"--baseline {path}: artifacts.{key} must be a table of metrics, got {metrics!r}")
        for name, value in metrics.items():
            low = -1.0 if name == "cosine" else 0.0
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= 1:
                raise OptionError(f"--baseline {path}: artifacts.{key}.{name} must be a number from {low:g} to 1, "
                                  f"got {value!r}; fix it or rewrite the file with --update-baseline")  # fmt: skip
    return data


def junit_xml(results: list[GateResult], suite: str = "edgekit.validate") -> str:
    """A JUnit report: one test case per gate and artifact."""
    from xml.etree import ElementTree as ET

    results = [r for r in results if not r.note]
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0")
    for r in results:
        case = ET.SubElement(root, "testcase", classname=f"{suite}.{r.artifact}", name=f"{r.gate}:{r.metric}")
        if not r.passed:
            ET.SubElement(case, "failure", message=r.message).text = r.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
