"""Train the PyTorch example: the digits CNN of examples/digits in PyTorch (no download).

The same data and split as examples/digits/train.py (scikit-learn's 8x8 digits, seed 1234),
channels first as PyTorch takes them. Writes, next to this script:
  digits.pt2   the trained float model as a torch.export ExportedProgram (input 1x1x8x8 in [0, 1],
               10-class softmax "probs")
  digits.onnx  the same model exported to ONNX (opset 17)
  calib.npz    x: 200 training images (N, 1, 8, 8) for post-training quantization
  eval.npz     x, y: the 540 held-out images and their labels

Seeded and single-threaded, so a rerun writes the same weights; a few seconds on one CPU core.
Run from the repository root: ``.venv/bin/python examples/digits_torch/train.py``.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 1234
EPOCHS = 30


def load_split():
    """examples/digits' split, transposed to (N, 1, 8, 8)."""
    keras_example = runpy.run_path(str(HERE.parent / "digits" / "train.py"), run_name="digits_data")
    (x_train, y_train), (x_eval, y_eval) = keras_example["load_digits_split"]()
    return (x_train.transpose(0, 3, 1, 2).copy(), y_train), (x_eval.transpose(0, 3, 1, 2).copy(), y_eval)


def build_model():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(64, 10),
        nn.Softmax(dim=1),
    )  # fmt: skip


def train(model, x, y):
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(xs), generator=gen).split(32):
            opt.zero_grad()
            # The model ends in softmax (as the Keras example); NLL of its log is cross-entropy.
            loss = torch.nn.functional.nll_loss(torch.log(model(xs[idx]) + 1e-9), ys[idx])
            loss.backward()
            opt.step()
    return model.eval()


def main() -> None:
    import sys

    sys.path.insert(0, str(HERE.parents[1]))
    from edgekit.loaders.torch import import_torch

    torch = import_torch()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    (x_train, y_train), (x_eval, y_eval) = load_split()
    model = train(build_model(), x_train, y_train)
    with torch.inference_mode():
        acc = float((model(torch.from_numpy(x_eval)).argmax(1).numpy() == y_eval).mean())
    print(f"held-out accuracy: {acc:.4f} on {len(x_eval)} images")
    example = (torch.zeros(1, 1, 8, 8),)
    torch.export.save(torch.export.export(model, example), str(HERE / "digits.pt2"))
    # The TorchScript exporter: the dynamo one needs onnxscript, which edgekit does not install.
    torch.onnx.export(model, example, str(HERE / "digits.onnx"), dynamo=False, opset_version=17,
                      input_names=["image"], output_names=["probs"])  # fmt: skip
    np.savez_compressed(HERE / "calib.npz", x=x_train[:200])
    np.savez_compressed(HERE / "eval.npz", x=x_eval, y=y_eval)


if __name__ == "__main__":
    main()
