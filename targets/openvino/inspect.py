"""``edgekit inspect`` of an OpenVINO IR: ops and constants read with OpenVINO's reader."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path


def file_report(path: Path, with_ops: bool = False) -> dict:
    """The inspect report of an OpenVINO IR (.xml next to its .bin)."""
    import openvino as ov

    from edgekit.errors import ModelFileError
    from targets.openvino.runner import tensor_infos

    try:
        model = ov.Core().read_model(str(path))
    except RuntimeError as e:
        raise ModelFileError(f"{path}: OpenVINO cannot read the IR ({str(e).strip().splitlines()[0][:200]})") from e
    ops = Counter(op.get_type_name() for op in model.get_ordered_ops())
    weights: dict[str, dict[str, int]] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            et = op.get_output_element_type(0).get_type_name()
            d = weights.setdefault(et, {"params": 0, "bytes": 0})
            shape = op.get_output_shape(0)
            d["params"] += math.prod(shape) if len(shape) else 1
            d["bytes"] += int(op.get_byte_size())
    bin_path = path.with_suffix(".bin")
    compressed = sorted(set(weights) & {"i8", "u8", "i4", "u4", "f16"})
    scheme = "int8" if ops.get("FakeQuantize") else (f"weights {'/'.join(compressed)}" if compressed else "float32")
    return {
        "model": str(path), "format": "openvino", "bytes": path.stat().st_size + (bin_path.stat().st_size if bin_path.exists() else 0),
        "scheme": scheme,
        "description": "", "subgraphs": 1,
        "inputs": [t.to_json() for t in tensor_infos(model.inputs)],
        "outputs": [t.to_json() for t in tensor_infos(model.outputs)],
        "op_count": sum(ops.values()), "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "fake_quantize": ops.get("FakeQuantize", 0),
        "params": {"count": sum(d["params"] for d in weights.values()), "bytes": sum(d["bytes"] for d in weights.values()),
                   "by_dtype": dict(sorted(weights.items()))},
        "macs": None, "largest_activations": [],
        "note": "OpenVINO IR: constants by element type; MACs are counted for TFLite graphs only",
    }  # fmt: skip
