"""Run OpenVINO IR on the CPU device; float in, float out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError
from edgekit.tensors import TensorInfo
from edgekit.runtime.runner import RunnerBase


class OpenVINORunner(RunnerBase):
    """Compiles the IR for the CPU (f32 inference precision, so a float32 IR is not run in
    bf16 on CPUs that have it) and runs batches by reshaping the model where it allows."""

    name = "openvino"

    def __init__(self, num_threads: int | None = None, trusted: Collection[str] = ()):
        self.num_threads = num_threads
        self.trusted = trusted  # digests of IRs the current export run wrote: no crash probe
        self._compiled: dict[int, object] = {}
        self._can_reshape = True

    def load(self, artifact) -> None:
        self.load_path(artifact.primary)

    def load_path(self, xml: Path) -> None:
        import openvino as ov

        probe(xml, self.trusted)  # a crash on a corrupt IR kills a child, not us
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(xml))
        except RuntimeError as e:
            raise ModelFileError(f"{xml}: OpenVINO cannot read the IR ({str(e).strip().splitlines()[0][:200]})") from e
        try:
            pin_dynamic_batch(self._model)
        except ValueError as e:
            raise ModelFileError(f"{xml}: {e}; reshape the IR to static shapes") from e
        self.inputs = tensor_infos(self._model.inputs)
        self.outputs = tensor_infos(self._model.outputs)
        self.batch = self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1
        self._compiled[self.batch] = self._compile(self._model)

    def _compile(self, model):
        config = {"INFERENCE_PRECISION_HINT": "f32"}
        if self.num_threads:
            config["INFERENCE_NUM_THREADS"] = self.num_threads
        return self._core.compile_model(model, "CPU", config)

    def op_histogram(self) -> dict[str, int]:
        counts = Counter(op.get_type_name() for op in self._model.get_ordered_ops())
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _for_batch(self, n: int):
        if n not in self._compiled:
            model = self._model.clone()
            model.reshape({p.get_any_name(): [n, *t.shape[1:]] for p, t in zip(model.inputs, self.inputs)})
            self._compiled[n] = self._compile(model)
        return self._compiled[n]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        n = int(inputs[0].shape[0])
        arrays = [np.ascontiguousarray(x, dtype=np.dtype(t.dtype)) for x, t in zip(inputs, self.inputs)]
        if n != self.batch and self._can_reshape:
            try:
                out = self._infer(self._for_batch(n), arrays)
                if all(o.shape[:1] == (n,) for o in out):
                    return out
            except RuntimeError:
                pass
            self._can_reshape = False  # the graph pins its batch: go sample by sample
        parts = [self._infer(self._compiled[self.batch], [x[i : i + self.batch] for x in arrays])
                 for i in range(0, n, self.batch)]  # fmt: skip
        return [np.concatenate([p[k] for p in parts]) for k in range(len(self.outputs))]

    def _infer(self, compiled, arrays: list[np.ndarray]) -> list[np.ndarray]:
        result = compiled(arrays)
        return [np.asarray(result[compiled.outputs[k]], np.float32) for k in range(len(self.outputs))]


def ir_digest(xml: Path) -> str:
    """Digest of an IR: its .xml and its .bin."""
    from edgekit.runtime.probe import files_digest

    xml = Path(xml)
    return files_digest(xml, xml.with_suffix(".bin"), source=xml)


def probe(xml: Path, trusted=()) -> None:
    """Raise ModelFileError unless OpenVINO reads, compiles and runs the IR once in a child
    process (``trusted``: digests of files the current export run wrote itself, not probed)."""
    from edgekit.runtime.probe import probe_file

    probe_file("targets.openvino.runner:probe_child", str(xml), str(xml), (ir_digest(xml), "openvino"), "OpenVINO",
               "the IR is corrupt or uses an op OpenVINO cannot run", trusted)  # fmt: skip


def probe_child(req: dict) -> None:
    """In the probe worker's fork: read, compile and run the IR once on zeros."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(req["model"])
    pin_dynamic_batch(model)  # the runner does the same before it compiles
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    compiled([np.zeros(port.get_partial_shape().to_shape(), port.get_element_type().to_dtype())
              for port in compiled.inputs])  # fmt: skip


def pin_dynamic_batch(model) -> None:
    """Reshape an ov.Model whose only dynamic input dimension is the batch to batch 1.

    Raises ValueError naming the input when another dimension (or the rank) is dynamic.
    """
    shapes = {}
    for p in model.inputs:
        ps = p.get_partial_shape()
        if ps.is_static:
            continue
        dims = list(ps) if ps.rank.is_static else []
        if not dims or any(d.is_dynamic for d in dims[1:]):
            raise ValueError(f"input {p.get_any_name()} has a dynamic shape {ps} beyond its batch dimension")
        shapes[p.get_any_name()] = [1, *(d.get_length() for d in dims[1:])]
    if shapes:
        model.reshape(shapes)


def tensor_infos(ports) -> tuple[TensorInfo, ...]:
    """TensorInfo of an ov.Model's or CompiledModel's inputs/outputs."""
    infos = []
    for i, p in enumerate(ports):
        names = sorted(p.get_names())
        shape = tuple(int(d) for d in p.get_partial_shape().to_shape()) if p.get_partial_shape().is_static else ()
        infos.append(TensorInfo(names[0] if names else f"port_{i}", shape, np.dtype(p.get_element_type().to_dtype()).name))
    return tuple(infos)
