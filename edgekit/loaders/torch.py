"""PyTorch sources: ``.pt2`` (a saved ``torch.export`` ExportedProgram) and, in the Python API,
an ``nn.Module`` with example inputs (``edgekit.model.load_model(module, example_inputs=...)``).

Every source ends as an ExportedProgram with fixed input shapes (batch 1 unless asked), which
is what each converter takes (litert-torch, ``openvino.convert_model``, coremltools). The float
reference is PyTorch running that program, in eval mode, without autograd. A pickled
whole-module ``torch.save`` file (``.pt``/``.pth``) runs code when it loads: refused unless
``--unsafe``. PyTorch lives in the ``torch`` extra; without it these sources fail with one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekit import block_triton
from edgekit.errors import EdgekitError, MissingExtraError, ModelFileError, OptionError, UnsafeModelError
from edgekit.loaders.pt2_safety import _PT2_SAVE, check_graph, check_pt2_archive
from edgekit.tensors import TensorInfo, image_layout, resolve_shape

EXTRA_HINT = "PyTorch sources need the torch extra: pip install 'edgekit[torch]'"
PICKLE_SUFFIXES = (".pt", ".pth")


def import_torch():
    """``torch`` (triton blocked), or the one-line error naming the extra."""
    block_triton()
    try:
        import torch
    except ImportError as e:
        raise MissingExtraError(EXTRA_HINT) from e
    return torch


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


class TorchBackend:
    """An ExportedProgram with fixed input shapes, run by PyTorch as the float reference."""

    kind = "torch"

    def __init__(self, program, source: str):
        torch = import_torch()
        self.program = program
        self.module = program.module()
        sig = program.graph_signature
        placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
        self.inputs = tuple(
            _info(name, placeholders[name].meta.get("val"), source) for name in sig.user_inputs
        )
        self.example = tuple(torch.zeros(t.shape, dtype=getattr(torch, t.dtype)) for t in self.inputs)
        outs = self._run(self.example)
        names = [str(n) for n in sig.user_outputs]
        if len(names) != len(outs):
            names = [f"output_{i}" for i in range(len(outs))]
        self.outputs = tuple(
            TensorInfo(n, tuple(int(d) for d in o.shape), _dtype_name(o.dtype), layout=image_layout(o.shape, True))
            for n, o in zip(names, outs)
        )

    def _run(self, tensors) -> list:
        import torch

        with torch.inference_mode():
            out = self.module(*tensors)
        flat, _ = torch.utils._pytree.tree_flatten(out)
        return [o for o in flat if isinstance(o, torch.Tensor)]

    def predict(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Outputs for a batch of any size: the program's shapes are fixed, so the batch runs in
        chunks of the program's batch (the last one padded with zeros, its padding dropped)."""
        import torch

        # A writable contiguous copy where needed: torch.from_numpy shares the memory.
        arrays = [np.require(np.asarray(a, dtype=t.dtype), requirements=("C", "W")) for a, t in zip(arrays, self.inputs)]
        step = self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1
        n = len(arrays[0]) if arrays and arrays[0].ndim else step
        if n == step or not self.inputs:
            return [o.detach().cpu().numpy() for o in self._run([torch.from_numpy(a) for a in arrays])]
        chunks = []
        for start in range(0, n, step):
            part = [a[start:start + step] for a in arrays]
            short = step - len(part[0])
            part = [np.concatenate([p, np.zeros((short, *p.shape[1:]), p.dtype)]) if short else p for p in part]
            chunks.append([o.detach().cpu().numpy() for o in self._run([torch.from_numpy(p) for p in part])])
        return [np.concatenate([c[i] for c in chunks])[:n] for i in range(len(chunks[0]))]

    def exported_program(self):
        """The ExportedProgram with fixed shapes (what litert-torch, OpenVINO and coremltools take)."""
        return self.program

    def example_inputs(self) -> tuple:
        """Zero tensors of the input shapes, for converters that trace."""
        return self.example

    def source_ops(self) -> dict[str, int]:
        """Histogram of the ATen ops the program calls (``edgekit inspect``)."""
        from collections import Counter

        ops = Counter(
            str(n.target).removesuffix(".default") for n in self.program.graph.nodes if n.op == "call_function"
        )
        return dict(ops.most_common())



def _info(name: str, val, source: str) -> TensorInfo:
    if val is None or not hasattr(val, "shape"):
        raise UnsupportedSource(f"{source}: input '{name}' is not a tensor; edgekit takes tensor inputs only")
    shape = tuple(int(d) for d in val.shape)
    # PyTorch convolutions take channels first: a rank-4 tensor is NCHW.
    return TensorInfo(name, shape, _dtype_name(val.dtype), layout=image_layout(shape, channels_first=True))


class UnsupportedSource(ModelFileError):
    """The program has inputs or outputs edgekit cannot describe."""


def _fixed_args(program, batch: int, input_shapes: dict, source: str) -> tuple:
    """Zero tensors of each user input's shape, its free dimensions fixed like Keras inputs
    (a symbolic first dimension is the batch; others need --input-shape)."""
    torch = import_torch()
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    args = []
    for name in program.graph_signature.user_inputs:
        val = placeholders[name].meta.get("val")
        if val is None or not hasattr(val, "shape"):
            raise UnsupportedSource(f"{source}: input '{name}' is not a tensor; edgekit takes tensor inputs only")
        dims = [int(d) if isinstance(d, int) or not hasattr(d, "node") else None for d in val.shape]
        args.append(torch.zeros(resolve_shape(name, dims, batch, input_shapes), dtype=val.dtype))
    return tuple(args)


def _static_program(program, args: tuple, source: str, dynamic: bool):
    """Re-export ``program`` with ``args``' shapes when any dimension was symbolic."""
    if not dynamic:
        return program
    import torch

    try:
        return torch.export.export(program.module(), args)
    except Exception as e:  # torch raises its constraint violations as many types
        raise OptionError(
            f"{source}: the program does not accept input shape(s) "
            f"{', '.join('x'.join(map(str, a.shape)) for a in args)} ({_first_line(e)}); fix them with --input-shape"
        ) from e


def load_pt2(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """Load a ``torch.export.save`` archive after checking that loading it runs no code."""
    torch = import_torch()
    check_pt2_archive(path, unsafe)
    try:
        program = torch.export.load(str(path))
    except EdgekitError:
        raise
    except Exception as e:  # the deserializer raises anything from KeyError to RuntimeError
        raise ModelFileError(
            f"{path}: torch.export.load failed ({type(e).__name__}: {_first_line(e)}); "
            f"re-save it with this torch ({torch.__version__}): {_PT2_SAVE}"
        ) from e
    if not unsafe:
        check_graph(path, program)
    return _backend(program, batch, input_shapes, str(path))


def _backend(program, batch: int, input_shapes: dict, source: str) -> TorchBackend:
    args = _fixed_args(program, batch, input_shapes, source)
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    declared = [tuple(placeholders[n].meta["val"].shape) for n in program.graph_signature.user_inputs]
    symbolic = any(not isinstance(d, int) for shape in declared for d in shape)
    if not symbolic and any(tuple(a.shape) != s for a, s in zip(args, declared)):
        raise OptionError(
            f"{source}: the program was exported for fixed shape(s) "
            f"{', '.join('x'.join(map(str, s)) for s in declared)}; export it with dynamic_shapes "
            "to change them, or drop --batch/--input-shape"
        )
    return TorchBackend(_static_program(program, args, source, symbolic), source)


def load_pickled(path: Path, *, batch: int, input_shapes: dict, signature, unsafe: bool):
    """A ``torch.save`` file: refused unless --unsafe (unpickling runs code); then the module
    is exported with --input-shape."""
    if not unsafe:
        raise UnsafeModelError(
            f"{path}: a pickled PyTorch file runs code when it loads; refused. Save the model as a .pt2 "
            f"instead: {_PT2_SAVE} (or pass --unsafe only if you trust the file)"
        )
    torch = import_torch()
    try:
        obj = torch.load(str(path), weights_only=False, map_location="cpu")
    except Exception as e:  # whatever the pickle raises
        raise ModelFileError(f"{path}: torch.load failed ({type(e).__name__}: {_first_line(e)})") from e
    if not isinstance(obj, torch.nn.Module):
        raise ModelFileError(
            f"{path}: holds a {type(obj).__name__}, not a whole nn.Module (a state_dict needs the model's code); "
            f"save the model as a .pt2: {_PT2_SAVE}"
        )
    shapes = list(input_shapes.values())
    if not shapes:
        raise OptionError(f"{path}: a pickled module has no input signature; give it with --input-shape 1x3x96x96")
    return from_module(obj, tuple(torch.zeros(s) for s in shapes), source=str(path))


def from_module(module, example_inputs: Sequence | object, *, source: str | None = None) -> TorchBackend:
    """Export ``module`` (in eval mode) with ``example_inputs``' shapes; the module's own mode
    is restored afterwards."""
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise OptionError(f"expected a torch.nn.Module, got {type(module).__name__}")
    args = tuple(example_inputs) if isinstance(example_inputs, (list, tuple)) else (example_inputs,)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise OptionError("example_inputs must be a tensor or a tuple of tensors (one per forward argument)")
    source = source or type(module).__name__
    was_training = module.training
    module.eval()
    try:
        program = torch.export.export(module, args)
    except Exception as e:  # torch.export raises many types for untraceable code
        raise UnsupportedSource(f"{source}: torch.export.export failed ({type(e).__name__}: {_first_line(e)})") from e
    finally:
        module.train(was_training)
    return TorchBackend(program, source)


def _first_line(e: Exception) -> str:
    text = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return text[0][:300] if text else ""
