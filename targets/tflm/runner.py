"""TFLite Micro on the host: the exact tensor arena and a Runner, both through the real TFLM
interpreter of the ``tflite-micro`` package, always in a child process (see tflm_worker).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError, UnsupportedError
from edgekit.tensors import TensorInfo
from edgekit.runtime.isolated import Child, ChildCrashed
from edgekit.runtime.io import from_runtime, to_runtime
from edgekit.tflite_graph import TFLiteGraph
from edgekit.runtime.runner import RunnerBase

WORKER = "targets.tflm.worker"
PROBE_TIMEOUT = 60.0  # seconds for one allocation in the child before it counts as a hang
NARROW_TIMEOUT = 1800.0  # seconds to try every op of a model alone after a crash
ALIGN = 16  # TFLM aligns arena allocations to 16 bytes; arena sizes are searched in steps of 16
_LINE = re.compile(r"'(?P<type>[^']+)' used (?P<used>\d+) bytes .*?\(requested (?P<req>\d+) bytes for (?P<n>\d+)")

# Recorded allocation types whose items are structs of pointers, with their size on a 32-bit
# target (ILP32; 64-bit sizes in brackets): TfLiteEvalTensor {data*, dims*, type} 12 (24);
# TfLiteTensor (TFLM's reduced struct: quantization {type, params*}, params {scale, zp},
# data*, dims*, size_t bytes, type, allocation_type, is_variable) 32 (64);
# NodeAndRegistration = TfLiteNode {inputs*, outputs*, intermediates*, user_data*,
# builtin_data*, custom_initial_data*, int} + registration* 32 (64). The 32-bit sizes match
# PrintAllocations logs from Cortex-M builds. The other recorded types (quantization arrays,
# kernel op data, variable buffers, the allocator's own objects) are kept at their 64-bit
# size, so the 32-bit figure is an upper bound.
_SIZE_32BIT = {"TfLiteEvalTensor data": 12, "Persistent TfLiteTensor data": 32, "NodeAndRegistration struct": 32}


@dataclass(frozen=True)
class ArenaMeasurement:
    required: int  # smallest arena (multiple of 16) with which AllocateTensors succeeds
    nonpersistent: int  # head: tensor buffers and scratch, planned by lifetime
    persistent: int  # tail: interpreter structures, quantization data, op data
    persistent32: int  # the tail with pointer-bearing structs resized for a 32-bit target
    allocations: dict = field(default_factory=dict)  # type -> {used, requested, count}

    @property
    def derivation(self) -> str:
        parts = [f"{t} {a['count']} x {a['requested'] // max(a['count'], 1)} -> {_SIZE_32BIT[t]} B"
                 for t, a in self.allocations.items() if t in _SIZE_32BIT]  # fmt: skip
        return "; ".join(parts) or "no pointer-bearing structs recorded"


def _round_up(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _write_model(data: bytes, tmp: Path) -> str:
    path = tmp / "model.tflite"
    path.write_bytes(data)
    return str(path)


def _probe(child: Child, model: str, arena: int) -> tuple[bool, str]:
    """(allocation succeeded, TFLM's log of why not)."""
    try:
        reply = child.request({"cmd": "probe", "model": model, "arena": arena}, timeout=PROBE_TIMEOUT)
    except ChildCrashed as e:
        return False, f"crashed ({e.reason})"  # too small an arena can crash TFLM outright
    return bool(reply["ok"]), reply.get("log", "")


def explain_crash(model: str, source: str, how: str, arena: int, doing: str):
    """The error for a TFLM crash on ``model``: the op TFLM cannot run, found by trying each op
    alone in the worker (UnsupportedError), or a damaged file when every op runs alone."""
    try:
        with Child(WORKER) as child:
            found = child.request({"cmd": "narrow", "model": model, "arena": arena}, timeout=NARROW_TIMEOUT)["op"]
    except ChildCrashed:
        found = None
    if found is None:
        return ModelFileError(f"TFLM crashed ({how}) while {doing} {source}, though each of its ops runs on its own: "
                              "the file is corrupt or its graph is one TFLM cannot run")  # fmt: skip
    graph = TFLiteGraph(Path(model).read_bytes(), source)
    op = graph.main.ops[found["index"]]
    tensors = graph.main.tensors
    io = [("input", t) for t in op.inputs if t >= 0 and not tensors[t].is_constant][:1] + [("output", op.outputs[0])]
    quant = "".join(f", {kind} scale {tensors[t].quant.scale[0]:.3g}" for kind, t in io
                    if tensors[t].quant is not None and len(tensors[t].quant.scale) == 1)  # fmt: skip
    return UnsupportedError(
        f"{source}: TFLM cannot run op {op.opcode} (node {op.index} of {len(graph.main.ops)}, output "
        f"'{tensors[op.outputs[0]].name}'{quant}): TFLM crashes ({found['how']}) on that op alone: the file is "
        "not corrupt, TFLM's kernel rejects these parameters (quantization, shapes) by aborting"
    )


def _reason(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip() and "allocate" not in ln.lower()]
    return lines[0][:200] if lines else "allocation failed"


def measure_arena(data: bytes, source: str = "model") -> ArenaMeasurement:
    """The exact arena TFLM needs for ``data``, found by bisection over multiples of 16."""
    graph = TFLiteGraph(data, source)
    guess = _round_up(2 * sum(t.nbytes for t in graph.activations()) + 4096 + 256 * len(graph.ops))
    with tempfile.TemporaryDirectory() as tmp, Child(WORKER) as child:
        model = _write_model(data, Path(tmp))
        lo, hi = 0, guess
        crashed = False
        while True:
            ok, log = _probe(child, model, hi)
            if ok:
                break
            # A model TFLM cannot prepare fails for a reason other than memory: say so now.
            if "tail memory" not in log and "head memory" not in log and "crashed" not in log:
                raise UnsupportedError(f"{source}: TFLM cannot prepare the model: {_reason(log)}")
            if "crashed" in log:
                # Too small an arena can crash TFLM; one far larger must not.
                if crashed:
                    raise explain_crash(model, source, log.removeprefix("crashed (").rstrip(")"), hi, "loading")
                crashed = True
                lo, hi = hi, max(hi * 64, 1 << 24)
                continue
            lo, hi = hi, hi * 2
            if hi > 1 << 31:
                raise UnsupportedError(f"{source}: TFLM cannot allocate this model with any arena up to 2 GiB")
        while hi - lo > ALIGN:
            mid = _round_up((lo + hi) // 2)
            if mid >= hi:
                break
            if _probe(child, model, mid)[0]:
                hi = mid
            else:
                lo = mid
        try:
            text = child.request({"cmd": "allocations", "model": model, "arena": hi})["text"]
        except ChildCrashed as e:
            raise UnsupportedError(f"{source}: TFLM crashed ({e.reason}) reporting its allocations") from e
    head = int(re.search(r"Arena allocation head (\d+)", text).group(1))
    allocations = {
        m["type"]: {"used": int(m["used"]), "requested": int(m["req"]), "count": int(m["n"])}
        for m in _LINE.finditer(text)
    }
    shrink = 0
    for kind, size32 in _SIZE_32BIT.items():
        a = allocations.get(kind)
        if a and a["count"]:
            shrink += a["requested"] - a["count"] * size32
    persistent = hi - head
    return ArenaMeasurement(hi, head, persistent, max(persistent - shrink, 0), allocations)


def arena_fits(data: bytes, arena: int) -> bool:
    """Whether TFLM allocates ``data`` in an arena of ``arena`` bytes (crash = no)."""
    with tempfile.TemporaryDirectory() as tmp, Child(WORKER) as child:
        return _probe(child, _write_model(data, Path(tmp)), arena)[0]


def _model_data_source(artifact) -> tuple[Path, str]:
    for f in artifact.files:
        if f.endswith(("_model_data.c", "_model_data.cc")):
            return artifact.directory / f, f.rsplit("_model_data.", 1)[0]
    raise ModelFileError(f"{artifact.directory}: the tflm artifact has no *_model_data.c/.cc")


def model_bytes(artifact) -> bytes | None:
    """The .tflite bytes of a tflm artifact (parsed back from its C array); a tflite artifact's file."""
    if artifact.target != "tflm":
        return artifact.primary.read_bytes()
    from targets.tflm.sources import parse_c_array

    path, cname = _model_data_source(artifact)
    try:
        return parse_c_array(path.read_text(), cname)
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from e


class TFLMRunner(RunnerBase):
    """Runs the model bytes parsed back from the generated C array in the TFLM interpreter."""

    name = "tflm"

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self._children: list[Child] = []
        self._tmp = None

    def load(self, artifact) -> None:
        """Load a tflm Artifact: the model bytes are parsed back from its generated C source."""
        source = str(_model_data_source(artifact)[0]) if artifact.target == "tflm" else str(artifact.primary)
        self.load_bytes(model_bytes(artifact), artifact.runner_metadata.arena_size, source)

    def load_bytes(self, data: bytes, arena: int | None = None, source: str = "tflm model data") -> None:
        """Load model bytes directly (``arena`` measured when not given)."""
        graph = TFLiteGraph(data, source)
        self._source = source
        self.inputs = tuple(_info(t) for t in graph.inputs)
        self.outputs = tuple(_info(t) for t in graph.outputs)
        self._arena = arena or measure_arena(data, source).required
        self._tmp = tempfile.TemporaryDirectory()
        self._model = _write_model(data, Path(self._tmp.name))
        self._children = [Child(WORKER) for _ in range(self.workers)]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Float outputs. TFLM runs one sample at a time, so a batch is split into
        contiguous parts, one per worker process, which run in parallel."""
        tmp = Path(self._tmp.name)
        n = len(inputs[0])
        parts = min(self.workers, n)
        bounds = [round(i * n / parts) for i in range(parts + 1)]
        for w in range(parts):
            lo, hi = bounds[w], bounds[w + 1]
            np.savez(tmp / f"in{w}.npz", **{f"i{i}": to_runtime(x[lo:hi], t) for i, (x, t) in enumerate(zip(inputs, self.inputs))})
            self._children[w].send({"cmd": "run", "model": self._model, "arena": self._arena, "n_outputs": len(self.outputs),
                                    "inputs": str(tmp / f"in{w}.npz"), "outputs": str(tmp / f"out{w}.npz")})  # fmt: skip
        outs: list[list[np.ndarray]] = []
        for w in range(parts):
            try:
                reply = self._children[w].receive()
            except ChildCrashed as e:
                raise explain_crash(self._model, self._source, e.reason, self._arena, "running") from e
            if not reply["ok"]:
                raise UnsupportedError(f"TFLM failed to run the model: {reply['error']}")
            with np.load(tmp / f"out{w}.npz") as z:
                outs.append([z[f"o{k}"] for k in range(len(self.outputs))])
        return [from_runtime(np.concatenate([o[k] for o in outs]), t) for k, t in enumerate(self.outputs)]

    def time_invokes(self, inputs: list[np.ndarray], seconds: float = 2.0, min_runs: int = 20) -> list[float]:
        """Seconds per invoke of one sample, timed inside the interpreter's process."""
        tmp = Path(self._tmp.name)
        np.savez(tmp / "time.npz", **{f"i{i}": to_runtime(x[:1], t) for i, (x, t) in enumerate(zip(inputs, self.inputs))})
        req = {"cmd": "time", "model": self._model, "arena": self._arena, "inputs": str(tmp / "time.npz"),
               "seconds": seconds, "min_runs": min_runs}  # fmt: skip
        try:
            reply = self._children[0].request(req, timeout=seconds * 10 + 120)
        except ChildCrashed as e:
            raise ModelFileError(f"TFLM crashed ({e.reason}) while timing {self._source}") from e
        if not reply["ok"]:
            raise UnsupportedError(f"TFLM failed to run the model: {reply['error']}")
        return reply["times"]

    def close(self) -> None:
        for child in self._children:
            child.close()
        self._children = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __del__(self):
        self.close()


def _info(t) -> TensorInfo:
    return t.info()
