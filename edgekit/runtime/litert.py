"""Run ``.tflite`` models in LiteRT (``ai-edge-litert``); no TensorFlow needed."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFileError
from edgekit.tensors import TensorInfo
from edgekit.runtime.io import from_runtime, to_runtime
from edgekit.runtime.runner import RunnerBase


def tensor_infos(details: list[dict]) -> tuple[TensorInfo, ...]:
    """TensorInfo from LiteRT's input/output details."""
    infos = []
    for d in details:
        scale, zp = d.get("quantization", (0.0, 0))
        infos.append(
            TensorInfo(
                name=d["name"],
                shape=tuple(int(s) for s in d["shape"]),
                dtype=np.dtype(d["dtype"]).name,
                scale=float(scale) if scale else None,
                zero_point=int(zp) if scale else None,
            )
        )
    return tuple(infos)


class LiteRTRunner(RunnerBase):
    """LiteRT interpreter with float in/out; batches by resizing where the graph allows."""

    name = "litert"

    # "xnnpack": LiteRT's default (XNNPACK delegate); "builtin": optimized kernels without
    # delegates; "reference": the reference kernels, closest to TFLM's.
    KERNELS = ("xnnpack", "builtin", "reference")

    def __init__(self, num_threads: int | None = None, kernels: str = "xnnpack", trusted: Collection[str] = ()):
        """``trusted``: digests of files the current export run wrote (ExportSession.trusted),
        loaded without a crash probe."""
        if kernels not in self.KERNELS:
            raise ValueError(f"kernels must be one of {self.KERNELS}")
        self.num_threads = num_threads
        self.kernels = kernels
        self.trusted = trusted
        self._content: bytes | None = None
        self._interp = None
        self._batched: dict[int, object] = {}
        self._can_resize = True
        self._unpinned: bytes | None = None

    def load(self, artifact, source: str = "<bytes>") -> None:
        """Load an Artifact, a path to a ``.tflite`` or the model bytes (named ``source``)."""
        if isinstance(artifact, (bytes, bytearray)):
            content = bytes(artifact)
        else:
            path = Path(getattr(artifact, "primary", artifact))
            try:
                content, source = path.read_bytes(), str(path)
            except OSError as e:
                raise ModelFileError(f"{path}: cannot read ({e.strerror})") from e
        from edgekit.runtime.probe import probe_litert

        self._content = content
        self._source = source
        self._graph()  # structural checks before any native code sees the bytes
        probe_litert(content, source, self.kernels, self.trusted)  # a crash here kills a child, not us
        self._interp = self._make()
        self.inputs = tensor_infos(self._interp.get_input_details())
        self.outputs = tensor_infos(self._interp.get_output_details())
        self.batch = self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1
        # Stateful graphs (LSTM/SVDF state in variable tensors) start every sample fresh.
        self._stateful = any(t.is_variable for t in self._graph().main.tensors)

    def _make(self, batch: int | None = None, content: bytes | None = None):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kwargs = {"num_threads": self.num_threads}
        if self.kernels == "builtin":
            kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        elif self.kernels == "reference":
            kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
        try:
            interp = Interpreter(model_content=content or self._content, **kwargs)
            if batch is not None:
                for d in interp.get_input_details():
                    interp.resize_tensor_input(d["index"], [batch, *d["shape"][1:]], strict=False)
            interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            if batch is not None:
                raise
            raise ModelFileError(
                f"{self._source}: LiteRT cannot load the model ({str(e).strip().splitlines()[0][:200]})"
            ) from e
        return interp

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Outputs (float32) for a batch of any size."""
        n = int(inputs[0].shape[0])
        if n == self.batch:
            return self._invoke(self._interp, inputs)
        if self._can_resize and self.batch == 1 and n > 1:
            interp = self._batched.get(n)
            try:
                if interp is None:
                    interp = self._resized(n)
                    out = self._invoke(interp, inputs)
                    # The first batch proves the batched graph: its ends must equal single runs.
                    for i in (0, n - 1):
                        single = self._invoke(self._interp, [x[i : i + 1] for x in inputs])
                        if not all(np.array_equal(o[i : i + 1], s) for o, s in zip(out, single)):
                            raise ValueError("batched and single runs differ")
                    self._batched[n] = interp
                    return out
                return self._invoke(interp, inputs)
            except (ValueError, RuntimeError):
                pass
            # The graph pins its batch (a reshape to [1, ...], say): run sample by sample.
            self._can_resize = False
            self._batched.clear()
        return self._chunked(inputs, n)

    def _resized(self, n: int):
        """An interpreter for batches of ``n``: the model itself if it scales with the batch,
        else a copy whose RESHAPEs infer the batch (see simulate.batching)."""
        from edgekit.runtime.batching import unpin_batch

        graph = self._graph()
        delegated = self.kernels == "xnnpack"
        try:
            interp = self._make(n)
            if _scales_with_batch(graph, interp, n, delegated):
                return interp
        except (ValueError, RuntimeError):
            pass  # the graph pins its batch; try the copy that infers it
        if self._unpinned is None:
            self._unpinned = unpin_batch(self._content) or b""
        if self._unpinned:
            interp = self._make(n, self._unpinned)
            if _scales_with_batch(graph, interp, n, delegated):
                return interp
        raise ValueError("the graph does not scale with the batch")

    def _graph(self):
        from edgekit.tflite_graph import TFLiteGraph

        return TFLiteGraph(self._content, self._source)

    def _chunked(self, inputs: list[np.ndarray], n: int) -> list[np.ndarray]:
        b = self.batch
        parts: list[list[np.ndarray]] = []
        for start in range(0, n, b):
            chunk = [x[start : start + b] for x in inputs]
            short = b - chunk[0].shape[0]
            if short:
                chunk = [np.concatenate([c, np.repeat(c[-1:], short, axis=0)]) for c in chunk]
            out = self._invoke(self._interp, chunk)
            parts.append([o[: b - short] for o in out])
        return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]

    def _invoke(self, interp, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self._stateful:
            interp.reset_all_variables()
        for d, info, x in zip(interp.get_input_details(), self.inputs, inputs):
            interp.set_tensor(d["index"], np.ascontiguousarray(to_runtime(x, info)))
        interp.invoke()
        return [
            from_runtime(interp.get_tensor(d["index"]), info)
            for d, info in zip(interp.get_output_details(), self.outputs)
        ]

    def smoke_test(self) -> list[np.ndarray]:
        """One invoke on zeros: proves the model allocates and runs."""
        zeros = [np.zeros(t.shape, np.float32) for t in self.inputs]
        return self._invoke(self._interp, zeros)


def _scales_with_batch(graph, resized, n: int, delegated: bool = False) -> bool:
    """Whether the activations of subgraph 0 grew by exactly ``n`` after resizing.

    Invoking a resized graph that pins its batch somewhere (a RESHAPE to a constant
    [1, ...] shape, say) can write past LiteRT's buffers and corrupt the heap, so this is
    checked before any invoke, from the shapes LiteRT planned. With a delegate (XNNPACK),
    tensors internal to delegated nodes keep stale shapes in LiteRT's view: those may stay
    unchanged, but the graph outputs must scale and nothing may change by another factor.
    """
    import math

    planned = {d["index"]: d["shape"] for d in resized.get_tensor_details()}
    outputs = set(graph.main.outputs)
    for t in graph.activations():
        shape = planned.get(t.index)
        if shape is None:
            return False
        size = math.prod(shape)
        if size == t.elements * n:
            continue
        if delegated and size == t.elements and t.index not in outputs and n > 1:
            continue
        return False
    return True
