"""ONNX models (``.onnx``, opset 13 and newer, with external-data files too).

A model file is untrusted input. Before any native code sees it, the protobuf is parsed in
Python and checked: the opset, the op domains (a custom domain would need a native custom-op
library), every op against the ONNX schemas, and every external-data reference (a regular
file inside the model's directory, no absolute path, no ``..``, no symlink out). The inputs
are then fixed (batch 1 / ``--batch`` / ``--input-shape``, as for Keras sources) and the
fixed model, weights inline, is met by ONNX Runtime once in a crash-probe child before this
process runs it. The float reference is ONNX Runtime on the CPU, one thread, basic graph
optimizations only and deterministic compute: the graph as written, the same bytes every run.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError, UnsupportedError
from edgekit.tensors import NHWC, TensorInfo, image_layout, resolve_shape

MIN_OPSET = 13
# The standard ONNX domains, and ONNX Runtime's built-in contrib ops: nothing to load for them.
DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")
_MAX_BYTES = 2**31 - 1  # protobuf's limit for the one serialized model edgekit runs and converts


def _onnx():
    try:
        import onnx
    except ImportError as e:  # an ordinary dependency: only a broken install lacks it
        raise UnsupportedError(f"ONNX sources need the onnx package ({e}); reinstall edgekit") from e
    return onnx


def read_model(path: Path):
    """The ModelProto at ``path``, external data not loaded (protobuf parsing is Python)."""
    onnx = _onnx()
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as e:  # DecodeError, OSError, ...: anything is a bad file here
        raise ModelFileError(f"{path}: not a readable ONNX model ({type(e).__name__}); re-export it") from e


def opset_of(model) -> int:
    """The default-domain opset the model imports (0 when it imports none)."""
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def check_model(model, path: Path) -> None:
    """Refuse an old opset, a custom op domain and an op the ONNX schemas do not define."""
    onnx = _onnx()
    opset = opset_of(model)
    if opset < MIN_OPSET:
        raise UnsupportedError(
            f"{path}: ONNX opset {opset} is older than {MIN_OPSET}; upgrade it with "
            f"onnx.save(onnx.version_converter.convert_version(onnx.load('{path.name}'), {MIN_OPSET}), 'upgraded.onnx')"
        )
    functions = {(f.domain, f.name) for f in model.functions}
    custom = sorted({o.domain for o in model.opset_import if o.domain not in DOMAINS} - {d for d, _ in functions})
    if custom:
        raise UnsupportedError(
            f"{path}: custom op domain {', '.join(map(repr, custom))} needs a native custom-op library, which edgekit "
            "never loads; export the model with standard ONNX ops"
        )
    for node in _nodes(model.graph, model.functions):
        domain = node.domain or ""
        if (domain, node.op_type) in functions:
            continue
        if domain not in DOMAINS:
            raise UnsupportedError(f"{path}: op {node.op_type!r} of custom domain {domain!r} is refused; export it with standard ONNX ops")
        if domain == "com.microsoft":
            continue  # ONNX Runtime's own contrib ops; the onnx package has no schemas for them
        if not onnx.defs.has(node.op_type, domain):
            raise UnsupportedError(f"{path}: op {node.op_type!r} is not an ONNX op (domain {domain or 'ai.onnx'!r}); "
                                   "export the model with standard ONNX ops")  # fmt: skip


def _nodes(graph, functions=()):
    """Every node of ``graph``, its subgraphs (If/Loop/Scan bodies) and the model's functions."""
    stack = [graph]
    for f in functions:
        yield from f.node
    while stack:
        g = stack.pop()
        for node in g.node:
            yield node
            for a in node.attribute:
                stack.extend([a.g] if a.HasField("g") else [])
                stack.extend(a.graphs)


def _tensors(model):
    """Every TensorProto that can hold weights: initializers, sparse ones, Constant/attribute
    tensors, in the main graph, its subgraphs and the functions."""
    stack = [model.graph]
    nodes = list(_function_nodes(model))
    while stack:
        g = stack.pop()
        yield from g.initializer
        for s in g.sparse_initializer:
            yield s.values
            yield s.indices
        nodes.extend(g.node)
        while nodes:
            node = nodes.pop()
            for a in node.attribute:
                if a.HasField("t"):
                    yield a.t
                yield from a.tensors
                if a.HasField("sparse_tensor"):
                    yield a.sparse_tensor.values
                    yield a.sparse_tensor.indices
                stack.extend([a.g] if a.HasField("g") else [])
                stack.extend(a.graphs)


def _function_nodes(model):
    for f in model.functions:
        yield from f.node


def check_external_data(model, path: Path) -> list[Path]:
    """The external-data files of ``model``, each checked to be a regular file inside the
    model's directory and long enough for what it is said to hold; refuses anything else."""
    onnx = _onnx()
    base = path.parent.resolve()
    files: dict[Path, None] = {}
    for t in _tensors(model):
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        rel = Path(loc)
        where = f"{path}: tensor {t.name!r} stores its data in {loc!r}"
        if not loc or rel.is_absolute() or ".." in rel.parts or loc.startswith(("/", "\\")) or "\\" in loc or ":" in loc:
            raise ModelFileError(f"{where}: an external-data file must be a plain relative path inside the model's directory")
        target = base / rel
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):
            raise ModelFileError(f"{where}, which is missing; copy it next to {path.name}") from None
        if not real.is_relative_to(base) or not real.is_file():
            raise ModelFileError(f"{where}, which {'is not a regular file' if real.is_relative_to(base) else 'leads outside the model directory'}; refused")
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
        except ValueError:
            raise ModelFileError(f"{where} with a non-numeric offset or length; re-export the model") from None
        size = real.stat().st_size
        if offset < 0 or offset > size or (length >= 0 and offset + length > size):
            raise ModelFileError(f"{where} at bytes {offset}..{offset + max(length, 0)}, past the end of the {size}-byte file; it is truncated")
        files[real] = None
    return list(files)


def graph_inputs(model):
    """The graph's real inputs (old IRs list every initializer as an input too)."""
    inits = {t.name for t in model.graph.initializer} | {s.values.name for s in model.graph.sparse_initializer}
    return [i for i in model.graph.input if i.name not in inits]


def declared_shape(value_info) -> tuple[int | None, ...] | None:
    """The declared dims (None where symbolic or missing); None when the rank is unknown."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim)


def np_dtype(elem_type: int) -> str:
    onnx = _onnx()
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, TypeError, ValueError):
        raise UnsupportedError(f"ONNX element type {elem_type} has no NumPy equivalent") from None


def input_layout(model, name: str, shape: tuple[int, ...]) -> str | None:
    """NCHW for a rank-4 input (ONNX convolutions are channels first), NHWC when every
    consumer transposes it from channels last first (models exported from TensorFlow)."""
    layout = image_layout(shape, channels_first=True)
    users = [n for n in model.graph.node if name in n.input]
    if layout and users and all(n.op_type == "Transpose" and _perm(n) == [0, 3, 1, 2] for n in users):
        return NHWC
    return layout


def _perm(node) -> list[int]:
    return next((list(a.ints) for a in node.attribute if a.name == "perm"), [])


def fixed_model(model, path: Path, inputs: tuple[TensorInfo, ...]):
    """A copy of ``model`` with the fixed input shapes and every weight inline (external data
    loaded from the checked files), within protobuf's 2 GB limit."""
    onnx = _onnx()
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    if check_external_data(fixed, path):
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(fixed, str(path.parent))
        except Exception as e:  # onnx re-checks the paths; anything it refuses is refused
            raise ModelFileError(f"{path}: cannot read its external data ({e})") from e
    by_name = {t.name: t for t in inputs}
    for vi in fixed.graph.input:
        if vi.name in by_name:
            dims = vi.type.tensor_type.shape.dim
            del dims[:]
            for d in by_name[vi.name].shape:
                dims.add().dim_value = d
    if fixed.ByteSize() > _MAX_BYTES:
        raise UnsupportedError(f"{path}: the model is larger than 2 GB, more than an edge target holds")
    return fixed


def with_free_batch(fixed, names: set[str]):
    """A copy of ``fixed`` whose inputs ``names`` take any batch (a symbolic first dimension)."""
    if not names:
        return fixed
    free = type(fixed)()
    free.CopyFrom(fixed)
    for vi in free.graph.input:
        if vi.name in names:
            dim = vi.type.tensor_type.shape.dim[0]
            dim.Clear()
            dim.dim_param = "batch"
    return free


def session(data: bytes):
    """An ONNX Runtime CPU session set up for a reproducible float reference."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.use_deterministic_compute = True
    so.log_severity_level = 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def probe_child(req: dict) -> None:
    """In the probe worker's fork: ONNX Runtime loads the fixed model and runs it once on zeros."""
    import onnx

    data = Path(req["model"]).read_bytes()
    onnx.shape_inference.infer_shapes(onnx.load_from_string(data), data_prop=True)  # inspect runs it in-process
    sess = session(data)
    feeds = {i.name: np.zeros(shape, dtype) for i, (shape, dtype) in zip(sess.get_inputs(), req["inputs"])}
    sess.run(None, feeds)


class ONNXBackend:
    kind = "onnx"

    def __init__(self, path: Path, fixed, reference, inputs: tuple[TensorInfo, ...], trusted=()):
        """``fixed``: the model at the fixed shapes, for converters; ``reference``: the same with
        a free batch dimension where the file has one, for ONNX Runtime to run any batch."""
        from edgekit.runtime.probe import digest, probe_file

        self.path = path
        self._program = None
        self._data = fixed.SerializeToString(deterministic=True)
        ref = reference.SerializeToString(deterministic=True)
        with tempfile.TemporaryDirectory(prefix="edgekit-probe-") as tmp:
            probe = Path(tmp) / "model.onnx"
            probe.write_bytes(ref)
            probe_file("edgekit.loaders.onnx:probe_child", str(probe), str(path), (digest(ref), "onnxruntime"),
                       "ONNX Runtime", "the file is corrupt or uses an op ONNX Runtime cannot run", trusted,
                       inputs=[(list(t.shape), t.dtype) for t in inputs])  # fmt: skip
        try:
            self._session = session(ref)
        except Exception as e:  # onnxruntime's Fail/InvalidGraph/NotImplemented carry the reason
            raise ModelFileError(f"{path}: ONNX Runtime cannot load the model ({_first_line(e)})") from e
        self.inputs = inputs
        self._free_batch = all(not isinstance(i.shape[0], int) for i in self._session.get_inputs() if i.shape)
        outs = self.predict([np.zeros(t.shape, t.dtype) for t in inputs])
        self.outputs = tuple(
            TensorInfo(o.name, tuple(y.shape), y.dtype.name, layout=image_layout(y.shape, channels_first=True))
            for o, y in zip(self._session.get_outputs(), outs)
        )

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Float outputs for a batch of any size (in chunks of the model's batch when it pins one)."""
        arrays = [np.ascontiguousarray(a, dtype=t.dtype) for t, a in zip(self.inputs, arrays)]
        n, b = len(arrays[0]), self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1
        if self._free_batch or n == b:
            return self._run(arrays)
        if n % b:
            raise ModelFileError(f"{self.path}: the model's batch is fixed at {b}; give batches of a multiple of {b}")
        parts = [self._run([a[i : i + b] for a in arrays]) for i in range(0, n, b)]
        return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]

    def _run(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        feeds = {t.name: a for t, a in zip(self.inputs, arrays)}
        return [np.asarray(y) for y in self._session.run(None, feeds)]

    def graph_report(self, with_ops: bool = False) -> dict:
        """``edgekit inspect``'s fields read from the ONNX graph itself (ops, params, MACs)."""
        from edgekit.loaders.onnx_graph import graph_report

        report = graph_report(self._data, with_ops)
        report["note"] = (f"ONNX opset {report.pop('opset')}" + (f", made by {report['producer']}" if report["producer"] else "")
                          + "; MACs of Conv/ConvTranspose/Gemm/MatMul from ONNX shape inference at the fixed input shapes")  # fmt: skip
        return report

    def exported_program(self):
        """The model as a PyTorch ExportedProgram at the fixed shapes (onnx2torch), made once,
        for the targets whose converters read PyTorch (tflite, tflm, coreml)."""
        if self._program is None:
            from edgekit.loaders.onnx_torch import exported_program

            self._program = exported_program(self._data, self.inputs, self.predict, str(self.path))
        return self._program

    def example_inputs(self) -> tuple:
        """Torch zeros of the fixed input shapes (what litert-torch and the tracer take)."""
        from edgekit.loaders.torch import import_torch

        torch = import_torch()
        return tuple(torch.zeros(t.shape, dtype=getattr(torch, t.dtype)) for t in self.inputs)

    def onnx_bytes(self) -> bytes:
        """The model with the fixed input shapes and its weights inline (what converters read)."""
        return self._data


def _first_line(e: Exception) -> str:
    text = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (text[0] if text else type(e).__name__)[:300]


def load_onnx(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load an ``.onnx`` file into an ONNXBackend (checked, fixed, probed)."""
    model = read_model(path)
    check_model(model, path)
    check_external_data(model, path)
    inputs, free = [], set()
    for vi in graph_inputs(model):
        shape = declared_shape(vi)
        if shape is None:
            raise UnsupportedError(f"input '{vi.name}' of {path} has no declared rank; fix it with --input-shape {vi.name}=1x...")
        fixed = resolve_shape(vi.name, shape, batch, input_shapes)
        if shape and shape[0] is None:
            free.add(vi.name)
        t = TensorInfo(vi.name, fixed, np_dtype(vi.type.tensor_type.elem_type))
        inputs.append(replace(t, layout=input_layout(model, vi.name, fixed)))
    inputs = tuple(inputs)
    fixed = fixed_model(model, path, inputs)
    return ONNXBackend(path, fixed, with_free_batch(fixed, free), inputs)
