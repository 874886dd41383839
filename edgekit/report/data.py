"""The report's view model: manifest.json + validation.json + simulation.json of a build
directory (and the per-op MACs read from the build's own .tflite) in one plain dict.

Nothing is run and nothing varies with the clock: the same files give the same dict, so
the pages made from it are byte-identical run to run.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from edgekit.build import BuildDir
from edgekit.errors import ModelFileError
from edgekit.export_options import reproduce_args
from edgekit.fmt import short_layer
from edgekit.tensors import describe_layouts
from targets import size_reference
from targets.metadata import RunnerMetadata
from targets.registry import formats

HEADLINE = {"top1": "top-1", "auc": "AUC", "agreement": "agreement"}


def _tensor(t: dict) -> str:
    shape = "x".join(str(d) for d in t.get("shape", []))
    return f"{t.get('name', '?')} {shape} {t.get('dtype', '')} {t.get('layout') or ''}".strip()


def _layout(a: dict) -> str:
    """A manifest entry's I/O layout in words (edgekit.tensors.describe_layouts)."""
    src = a.get("source_layouts")
    return describe_layouts([t.get("layout") for t in (*a.get("inputs", []), *a.get("outputs", []))],
                            None if src is None else [*src.get("inputs", []), *src.get("outputs", [])])  # fmt: skip


def _headline(validation: dict | None) -> str | None:
    """The accuracy metric the report charts: top-1, AUC, else agreement with the float model."""
    if not validation:
        return None
    entries = list(validation.get("artifacts", {}).values())
    for key in ("top1", "auc", "agreement"):
        if any(isinstance(e.get(key), (int, float)) for e in entries):
            return key
    return None


def _host_row(rows: list[dict]) -> dict | None:
    """The first runtime variant: what the runtime does by default (XNNPACK 1 thread, CPU 1 thread, TFLM)."""
    return rows[0] if rows else None


def collect(build_dir: Path) -> dict:
    """Everything the report shows, from the JSON files of ``build_dir``."""
    build_dir = Path(build_dir)
    manifest, validation, simulation = BuildDir(build_dir).read_records()
    src = manifest["source"]
    head = _headline(validation)
    evaluated = (validation or {}).get("artifacts", {})
    sim = simulation or {}
    memory = {m["artifact"]: m for m in sim.get("memory", [])}
    estimates = {e["artifact"]: e for e in sim.get("device_latency", [])}
    float32 = {}
    for a in manifest["artifacts"]:
        if a["scheme"] == "float32":
            float32[a["target"]] = _deployed(a)
    artifacts = []
    for a in manifest["artifacts"]:
        key = f"{a['target']}/{a['scheme']}"
        ref = size_reference(a["target"], float32)
        m = evaluated.get(key, {})
        host = _host_row(sim.get("artifacts", {}).get(key, []))
        est, mem = estimates.get(key, {}), memory.get(key, {})
        artifacts.append({
            "key": key, "target": a["target"], "scheme": a["scheme"], "file": a["files"][0]["path"],
            "bytes": _deployed(a), "vs_float32": _deployed(a) / ref if ref else None,
            "macs": a.get("metadata", {}).get("macs"), "notes": list(a.get("notes", [])), "layout": _layout(a),
            "accuracy": m.get(head) if head else None, "agreement": m.get("agreement"), "cosine": m.get("cosine"),
            "host_ms": host["p50_ms"] if host else None, "host_variant": host["variant"] if host else None,
            "device_ms": est.get("latency_ms") if est.get("applies") else None,
            "device_error": est.get("typical_error") if est.get("applies") else None,
            "device_why": est.get("why"),
            "ram_bytes": mem.get("ram_bytes") if mem.get("applies") else None,
            "flash_bytes": mem.get("flash_bytes") if mem.get("applies") else None,
            "fits": mem.get("fits") if mem.get("applies") else None,
            "fit_basis": mem.get("basis") if mem.get("applies") else None,  # measured | estimated
            "device_counted": est.get("basis_kind") == "measured instructions",
        })  # fmt: skip
        artifacts += _device_rows(artifacts[-1], evaluated, head)
    view = {
        "title": f"edgekit build report: {src.get('name', build_dir.name)}",
        "build_dir": manifest.get("build_dir", str(build_dir)),
        "model": {
            "name": src.get("name"), "kind": src.get("kind"), "path": src.get("path"), "sha256": src.get("sha256"),
            "inputs": [_tensor(t) for t in src.get("inputs", [])], "outputs": [_tensor(t) for t in src.get("outputs", [])],
            "calibration": _describe_data(src.get("calibration")),
        },  # fmt: skip
        "tools": manifest.get("tools", {}),
        "artifacts": artifacts,
        "headline": head,
        "headline_label": HEADLINE.get(head, ""),
        "evaluation": _evaluation(validation, head),
        "device": sim.get("device"),
        "host": sim.get("host"),
        "memory": [memory[k] for k in memory if memory[k].get("applies")],
        "estimates": [estimates[k] for k in estimates if estimates[k].get("applies")],
        "hottest": hottest_ops([estimates[k] for k in estimates if estimates[k].get("applies")]),
        "layers": (validation or {}).get("layers", {}),
        "per_op": per_op_macs(build_dir, manifest),
        "commands": commands(manifest, validation, simulation),
        "warnings": warnings(manifest, validation, simulation),
        "notes": notes(manifest, validation, simulation),
    }
    return view


def _device_rows(row: dict, evaluated: dict, head: str | None) -> list[dict]:
    """One row per ``KEY@DEVICE`` entry of validation.json (``validate --on``): the artifact's
    file and size, scored on the device; host and estimate columns do not apply."""
    out = []
    for key in sorted(k for k in evaluated if k.startswith(row["key"] + "@")):
        m, device = evaluated[key], key.split("@", 1)[1]
        out.append({**row, "key": key, "device": device, "notes": [f"run on {device} (validate --on {device})"],
                    "accuracy": m.get(head) if head else None, "agreement": m.get("agreement"), "cosine": m.get("cosine"),
                    "host_ms": None, "host_variant": None, "device_ms": None, "device_error": None, "device_why": None,
                    "ram_bytes": None, "flash_bytes": None, "fits": None})  # fmt: skip
    return out


def _meta(entry: dict) -> RunnerMetadata:
    return RunnerMetadata.from_json(entry.get("metadata", {}))


def _deployed(entry: dict) -> int:
    model_bytes = _meta(entry).model_bytes
    return int(entry["bytes"]) if model_bytes is None else model_bytes


def _describe_data(d: dict | None) -> str | None:
    if not d:
        return None
    if d.get("random"):
        return f"{d.get('samples', '?')} random samples (no real data)"
    return f"{d.get('samples', '?')} samples from {d.get('source', '?')}"


def _evaluation(validation: dict | None, head: str | None) -> dict | None:
    if not validation:
        return None
    flt = validation.get("float", {})
    return {
        "samples": validation.get("samples"), "task": validation.get("task"),
        "data": _describe_data(validation.get("eval")), "float": flt.get(head) if head else None,
        "gates": validation.get("gates", []), "passed": validation.get("passed", True),
    }  # fmt: skip


def per_op_macs(build_dir: Path, manifest: dict) -> dict | None:
    """MACs of every op of the build's reference graph (the float32 .tflite, else the first
    TFLite model in the build), read from the file with TFLiteGraph (no runtime)."""
    from edgekit.tflite_graph import TFLiteGraph

    entries = sorted(
        (e for e in manifest["artifacts"] if e["files"][0]["path"].endswith(".tflite")),
        key=lambda e: e["scheme"] != "float32",
    )
    for e in entries:
        path = build_dir / e["files"][0]["path"]
        if not path.is_file():
            continue
        try:
            graph = TFLiteGraph.from_file(path)
        except ModelFileError:
            continue
        ops = [{"index": op.index, "op": op.opcode, "name": _layer_name(graph, op), "macs": op.macs} for op in graph.main.ops]
        return {"artifact": f"{e['target']}/{e['scheme']}", "total": sum(o["macs"] for o in ops), "ops": ops}
    return None


def hottest_ops(estimates: list[dict], shown: int = 5) -> list[dict]:
    """The costliest ops on the device per estimated model; artifacts of one graph share a row set."""
    groups: dict[str, dict] = {}
    for e in estimates:
        ops = [{"index": o["index"], "op": o["op"], "layer": short_layer(o["name"], 48), "ms": o["ms"], "share": o["share"],
                "macs": sum(o["work"].get(k, 0) for k in ("mac_conv", "mac_dw", "mac_fc"))} for o in e["hottest_ops"][:shown]]  # fmt: skip
        # One graph under two names: TFLM sources strip the tensor names ("op N"), the layers
        # of the named artifact label the shared rows.
        sig = json.dumps([e["cycles"], [{k: v for k, v in o.items() if k != "layer"} for o in ops]], sort_keys=True)
        group = groups.setdefault(sig, {"artifacts": [], "ops": ops, "ops_total": e["ops_total"], "latency_ms": e["latency_ms"]})
        if all(re.fullmatch(r"op \d+", o["layer"]) for o in group["ops"]):
            group["ops"] = ops
        group["artifacts"].append(e["artifact"])
    return list(groups.values())


def _layer_name(graph, op) -> str:
    outs = [t for t in op.outputs if t >= 0]
    return (graph.main.tensors[outs[0]].name if outs else "") or op.opcode  # stripped TFLM sources: no names


def commands(manifest: dict, validation: dict | None, simulation: dict | None) -> list[str]:
    """The exact commands that reproduce this build and its results."""
    opts = manifest.get("options", {})
    out = opts.get("out") or manifest.get("build_dir", "build")
    cmd = ["edgekit", "export", str(opts.get("model") or manifest["source"].get("path"))]
    cmd += reproduce_args(opts)  # every recorded option that differs from its default, from the schema
    cmd += ["--out", str(out), "--force"]
    lines = [shlex.join(cmd)]
    gates = validation.get("gates", []) if validation else []
    export_gates = any(opts.get(k) is not None for k in ("max_drop", "min_cosine", "min_accuracy"))
    devices = sorted({k.split("@", 1)[1] for k in (validation or {}).get("artifacts", {}) if "@" in k})
    if validation and validation.get("eval", {}).get("source") and (
        validation["eval"]["source"] != opts.get("eval")
        or (validation.get("layers") and not opts.get("layers"))
        or (gates and not export_gates)
        or devices
    ):
        v = ["edgekit", "validate", str(out), "--eval", validation["eval"]["source"]]
        for device in devices:
            v += ["--on", device]
        seen = {}
        for g in gates:
            seen.setdefault(g["gate"], g["bound"])
        for gate in ("max_drop", "min_cosine", "min_accuracy"):
            if gate in seen:
                v += ["--" + gate.replace("_", "-"), f"{seen[gate]:g}"]
        if validation.get("layers"):
            v.append("--layers")
        lines.append(shlex.join(v))
    if simulation:
        s = ["edgekit", "simulate", str(out), "--seconds", f"{simulation.get('seconds_per_variant', 1.0):g}"]
        if simulation.get("device"):
            s += ["--device", simulation["device"]["name"]]
        lines.append(shlex.join(s))
    lines.append(shlex.join(["edgekit", "report", str(out)]))
    return lines


def warnings(manifest: dict, validation: dict | None, simulation: dict | None) -> list[str]:
    """What a reader must know before trusting the numbers, in plain words."""
    out = list(manifest.get("warnings", []))
    cal = manifest["source"].get("calibration") or {}
    if cal.get("random") and not any("random" in w for w in out):
        out.append("calibration used random data: the integer artifacts run, but their accuracy is meaningless")
    for g in (validation or {}).get("gates", []):
        if not g.get("passed", True):
            out.append(f"gate failed: {g['message']}")
    for m in (simulation or {}).get("memory", []):
        if m.get("applies") and not m.get("fits"):
            out.append(m["verdict"])
    return out


def notes(manifest: dict, validation: dict | None, simulation: dict | None) -> list[str]:
    """What the report cannot show and how to get it, and caveats of the estimates."""
    out = []
    out_dir = manifest.get("options", {}).get("out") or manifest.get("build_dir", "build")
    if validation is None:
        out.append(f"not validated: accuracy, agreement and cosine come from `edgekit validate {out_dir} --eval DATA`")
    elif not validation.get("layers") and any(a["scheme"] == "int8" and _has_layer_report(a["target"]) for a in manifest["artifacts"]):
        out.append("per-layer quantization error: add --layers to `edgekit validate` (or `edgekit export --eval`)")
    if simulation is None:
        out.append(f"no latency measured: host latency, device estimates and RAM/flash fit come from "
                   f"`edgekit simulate {out_dir} --device NAME`")  # fmt: skip
    elif not simulation.get("device"):
        out.append(f"no device chosen: device latency and RAM/flash fit come from `edgekit simulate {out_dir} --device NAME`")
    for e in (simulation or {}).get("device_latency", []):
        for n in e.get("notes", []):
            out.append(f"{e['artifact']}: {n}")
    mem = [m for m in (simulation or {}).get("memory", []) if m.get("applies")]
    for m in mem:
        if m.get("basis") == "measured":
            out.append(f"{m['artifact']}: RAM and flash {m['ram_source']}")
    estimated = [m for m in mem if m.get("basis", "estimated") == "estimated"]
    if estimated:
        out.append(f"RAM and flash are estimated lower bounds; {estimated[0].get('not_counted', '')}")
    return out


def _has_layer_report(target: str) -> bool:
    fmt = formats().get(target)
    return fmt is not None and fmt.layer_report is not None
