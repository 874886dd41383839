"""ONNX sources end to end: torchvision mobilenet_v3_small and resnet18 (weights=None, seeded,
1x3x96x96; no download), exported to ONNX, then through ``edgekit export`` to tflite int8 (and
tflm int8 for mobilenet) and openvino int8, with --layout source and nhwc.

Prints per model: export seconds, cosine of the float32 .tflite against ONNX Runtime, int8
top-1 agreement with the float model on structured synthetic images (tests/synthetic.py), and
the TRANSPOSE ops inside each int8 graph. Needs the torch extra (and onnx2torch).
``python benchmarks/onnx_sources.py [MODEL ...]`` (torchvision names; default both).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _onnx(name: str, path: Path) -> None:
    import torch
    import torchvision

    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(weights=None).eval()
    torch.onnx.export(net, (torch.zeros(1, 3, 96, 96),), str(path), dynamo=False, opset_version=17,
                      input_names=["x"], output_names=["logits"])  # fmt: skip


def _data(path: Path, n: int, seed: int) -> None:
    from tests.synthetic import images

    x = images(n, 96, 96, 3, seed).transpose(0, 3, 1, 2)  # NCHW, as the ONNX model takes it
    mean, std = np.array([0.485, 0.456, 0.406])[None, :, None, None], np.array([0.229, 0.224, 0.225])[None, :, None, None]
    np.savez(path, x=((x - mean) / std).astype(np.float32))


def main() -> int:
    from edgekit.tflite_graph import TFLiteGraph

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _data(tmp / "calib.npz", 64, 1)
        _data(tmp / "eval.npz", 200, 2)
        for name in sys.argv[1:] or ("mobilenet_v3_small", "resnet18"):
            model = tmp / f"{name}.onnx"
            _onnx(name, model)
            targets = "tflite,tflm,openvino" if name == "mobilenet_v3_small" else "tflite,openvino"
            quant = "tflite=float32,tflite=int8,openvino=int8" + (",tflm=int8" if "tflm" in targets else "")
            for layout in ("source", "nhwc"):
                out = tmp / f"{name}_{layout}"
                start = time.perf_counter()
                res = subprocess.run([sys.executable, "-m", "edgekit.cli", "export", str(model), "-t", targets, "-q", quant,
                                      "--calib", str(tmp / "calib.npz"), "--eval", str(tmp / "eval.npz"), "--task",
                                      "classification", "--layout", layout, "--no-latency", "-o", str(out)],
                                     capture_output=True, text=True, cwd=ROOT)  # fmt: skip
                seconds = time.perf_counter() - start
                if res.returncode:
                    print(name, layout, "FAILED", res.stderr.strip().splitlines()[-1:])
                    continue
                v = json.loads((out / "validation.json").read_text())["artifacts"]
                transposes = {}
                for p in sorted(out.glob("tflite/*.tflite")):
                    transposes[p.stem] = TFLiteGraph.from_file(p).op_histogram().get("TRANSPOSE", 0)
                row = {"model": name, "layout": layout, "export_s": round(seconds, 1),
                       "tflite_float32_cosine": v["tflite/float32"]["cosine"],
                       **{f"{k}_agreement": v[k]["agreement"] for k in v if k.endswith("int8")},
                       "transpose": transposes}  # fmt: skip
                rows.append(row)
                print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
