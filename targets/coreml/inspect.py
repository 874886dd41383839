"""``edgekit inspect model.mlpackage``: the saved ML Program's ops, I/O and weight storage.

Read with edgekit's MIL program reader (no Core ML runtime needed): per layer (every op with
a ``weight`` input) the weight shape and how it is stored (float32/float16, int8 affine,
n-bit palette, sparse with its density) with the bytes it takes in weight.bin.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

_BITS = {"FLOAT32": 32, "FLOAT16": 16, "INT8": 8, "UINT8": 8, "INT32": 32, "INT16": 16, "UINT16": 16, "INT4": 4,
         "UINT4": 4, "UINT6": 6, "UINT3": 3, "UINT2": 2, "UINT1": 1, "BOOL": 8}  # fmt: skip


def _param(program, op, key: str) -> tuple[str, tuple[int, ...]]:
    """(MIL dtype, shape) of an op parameter, given as an input or (constexpr ops) an attribute."""
    if key in op.inputs:
        binding = op.inputs[key].arguments[0]
        if binding.WhichOneof("binding") == "name":
            var = program.vars[binding.name]
            return var.dtype, var.shape or ()
        dtype, shape = program.type_of(binding.value.type)
        return dtype, shape or ()
    dtype, shape = program.type_of(op.attributes[key].type)
    return dtype, shape or ()


def _stored_bytes(program, op) -> int:
    """Bytes of the constants an op (a const or a constexpr op) is built from."""
    if op is None:
        return 0
    keys = ["val"] if op.type == "const" else [k for k in op.attributes if k != "name"] + list(op.inputs)
    total = 0
    for key in keys:
        dtype, shape = _param(program, op, key)
        total += math.ceil(math.prod(shape) * _BITS.get(dtype, 32) / 8)
    return total


def _storage(program, op, name: str) -> str:
    if op is None:
        return "computed"
    if op.type == "const":
        return program.vars[name].dtype.lower()
    if op.type == "constexpr_affine_dequantize":
        q, scale = _param(program, op, "quantized_data"), _param(program, op, "scale")
        return f"{q[0].lower()} affine" + (", per channel" if math.prod(scale[1]) > 1 else "")
    if op.type == "constexpr_blockwise_shift_scale":
        data, scale = _param(program, op, "data"), _param(program, op, "scale")
        per_channel = scale[1][:1] == data[1][:1] and math.prod(scale[1][1:]) == 1
        return f"{data[0].lower()} affine" + (", per channel" if per_channel else ", per block" if math.prod(scale[1]) > 1 else "")
    if op.type == "constexpr_lut_to_dense":
        dtype, shape = _param(program, op, "lut")
        entries = shape[-2] if "shape" not in op.attributes and "shape" not in op.inputs else math.prod(shape)
        tables = math.prod(shape[:-2]) if "shape" not in op.attributes and "shape" not in op.inputs else 1
        return f"{int(np.log2(entries))}-bit palette ({dtype.lower()} table" + (f" x{tables})" if tables > 1 else ")")
    if op.type == "constexpr_sparse_to_dense":
        dtype, shape = _param(program, op, "nonzero_data")
        dense = math.prod(program.vars[name].shape or ())
        return f"sparse {dtype.lower()}, {1 - math.prod(shape) / max(dense, 1):.0%} zeros"
    return op.type


def file_report(path: Path, with_ops: bool = False) -> dict:
    """The inspect report of a .mlpackage."""
    from targets.coreml.runner import CoreMLRunner
    from targets.coreml.mil_program import MILProgram

    program = MILProgram(path)
    producers = {out.name: op for op in program.ops for out in op.outputs}
    layers, by_dtype = [], {}
    for op in program.ops:
        if "weight" not in op.inputs:
            continue
        wname = op.inputs["weight"].arguments[0].name
        storage = _storage(program, producers.get(wname), wname)
        nbytes = _stored_bytes(program, producers.get(wname))
        shape = program.vars[wname].shape or ()
        layers.append({"op": op.type, "name": op.outputs[0].name, "weight_shape": list(shape), "storage": storage,
                       "bytes": nbytes})  # fmt: skip
        d = by_dtype.setdefault(storage.split(",")[0].split(" (")[0], {"params": 0, "bytes": 0})
        d["params"] += math.prod(shape)
        d["bytes"] += nbytes
    kinds = {op.type for op in program.ops}
    weights = {program.vars[op.outputs[0].name].dtype for op in program.ops if op.type == "const"}
    quantized = {"constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"} & kinds
    scheme = ("palettized" if "constexpr_lut_to_dense" in kinds else "int8 weights" if quantized
              else "sparse" if "constexpr_sparse_to_dense" in kinds else "float16" if "FLOAT16" in weights else "float32")  # fmt: skip
    runner = CoreMLRunner(use_runtime=False)
    runner.load_path(path)
    desc = program.spec.description
    report = {
        "model": str(path), "format": "coreml", "bytes": sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()),
        "scheme": scheme, "description": desc.metadata.shortDescription, "subgraphs": 1,
        "inputs": [t.to_json() for t in runner.inputs], "outputs": [t.to_json() for t in runner.outputs],
        "op_count": len(program.ops), "ops": program.op_histogram(),
        "params": {"count": sum(d["params"] for d in by_dtype.values()), "bytes": sum(d["bytes"] for d in by_dtype.values()),
                   "by_dtype": by_dtype},
        "macs": None, "largest_activations": [], "weights": layers,
        "opset": program.opset, "weight_file_bytes": program.weight_file_bytes(),
        "metadata": {"author": desc.metadata.author, "license": desc.metadata.license, "version": desc.metadata.versionString},
        "simulated_ops_missing": runner.interpreter.unsupported,
        "note": "Core ML ML Program: parameters are the weights of ops with a weight input, by storage",
    }  # fmt: skip
    if with_ops:
        report["per_op"] = [{"index": i, "op": op.type, "macs": 0,
                             "output": {"shape": list(program.vars[op.outputs[0].name].shape or ()),
                                        "dtype": program.vars[op.outputs[0].name].dtype.lower()} if op.outputs else None}
                            for i, op in enumerate(program.ops) if op.type != "const"]  # fmt: skip
    return report
