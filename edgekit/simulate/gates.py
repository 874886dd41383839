"""Regression gates: thresholds and a baseline that make CI fail on a worse export."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.errors import OptionError
from edgekit.files import read_bounded


@dataclass(frozen=True)
class Gates:
    max_drop: float | None = None  # points of top-1 (or AUC) the artifact may lose against float
    min_cosine: float | None = None  # cosine with the float model, every output
    min_accuracy: float | None = None  # artifact top-1 (or AUC) in percent
    baseline: Path | None = None
    update_baseline: bool = False
    baseline_tolerance: float = 0.1  # points an artifact may lose against the baseline

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_drop, self.min_cosine, self.min_accuracy, self.baseline))


@dataclass(frozen=True)
class GateResult:
    artifact: str
    gate: str
    metric: str
    value: float
    bound: float
    passed: bool
    message: str

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
    """Evaluate every gate for every artifact of an evaluation result."""
    out: list[GateResult] = []
    task = result["task"]
    base = headline(result["float"], task)
    baseline = None if gates.update_baseline or gates.baseline is None else read_baseline(gates.baseline)
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
                f"{key}: {head[0]} {_pct(head[1])} ({'meets' if ok else 'below'} --min-accuracy {gates.min_accuracy})"))  # fmt: skip
        if gates.min_cosine is not None:
            for o in entry["outputs"]:
                value = o["cosine"]
                ok = isinstance(value, float) and value >= gates.min_cosine
                out.append(GateResult(key, "min_cosine", f"cosine[{o['name']}]", value, gates.min_cosine, ok,
                    f"{key}: cosine {value:.6f} on output '{o['name']}' ({'meets' if ok else 'below'} --min-cosine {gates.min_cosine})"))  # fmt: skip
        if baseline is not None and key in baseline["artifacts"]:
            then = baseline["artifacts"][key]
            if head is not None and head[0] in then:
                loss = 100 * (then[head[0]] - head[1])
                ok = loss <= gates.baseline_tolerance
                out.append(GateResult(key, "baseline", head[0], 100 * head[1], 100 * then[head[0]] - gates.baseline_tolerance, ok,
                    f"{key}: {head[0]} {_pct(head[1])} vs baseline {_pct(then[head[0]])} "
                    f"({'within' if ok else 'worse than'} the {gates.baseline_tolerance}-point tolerance)"))  # fmt: skip
            if "cosine" in then and isinstance(entry.get("cosine"), float):
                ok = entry["cosine"] >= then["cosine"] - 1e-4
                out.append(GateResult(key, "baseline", "cosine", entry["cosine"], then["cosine"] - 1e-4, ok,
                    f"{key}: cosine {entry['cosine']:.6f} vs baseline {then['cosine']:.6f}"))  # fmt: skip
    return out


def baseline_of(result: dict) -> dict:
    """The metrics a baseline file keeps, per artifact."""
    keep = ("top1", "auc", "cosine", "agreement")
    return {
        "edgekit_baseline": 1,
        "task": result["task"],
        "samples": result["samples"],
        "artifacts": {k: {m: e[m] for m in keep if isinstance(e.get(m), float)} for k, e in result["artifacts"].items()},
    }


def read_baseline(path: Path) -> dict:
    try:
        data = json.loads(read_bounded(path, "--baseline"))
    except FileNotFoundError:
        raise OptionError(f"--baseline {path}: no such file; create it with --update-baseline") from None
    except (OSError, ValueError) as e:
        raise OptionError(f"--baseline {path}: unreadable ({e})") from e
    if not isinstance(data, dict) or data.get("edgekit_baseline") != 1 or not isinstance(data.get("artifacts"), dict):
        raise OptionError(f"--baseline {path}: not an edgekit baseline file")
    return data


def junit_xml(results: list[GateResult], suite: str = "edgekit.validate") -> str:
    """A JUnit report: one test case per gate and artifact."""
    from xml.etree import ElementTree as ET

    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0")
    for r in results:
        case = ET.SubElement(root, "testcase", classname=f"{suite}.{r.artifact}", name=f"{r.gate}:{r.metric}")
        if not r.passed:
            ET.SubElement(case, "failure", message=r.message).text = r.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
