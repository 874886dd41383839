"""Tiny PyTorch models built in code for the PyTorch-source tests (torch from the torch extra)."""

from __future__ import annotations

from pathlib import Path

from edgekit.loaders.torch import import_torch


def tiny_cnn(seed: int = 3):
    """A channels-first conv net: conv, batch norm, relu, depthwise conv, max pool, flatten
    (of a 2x2 map, so the flatten order matters), linear, softmax; input 1x3x8x8, 4 classes."""
    torch = import_torch()
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU6(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 4), nn.Softmax(dim=1),
    )  # fmt: skip
    with torch.no_grad():  # non-trivial batch-norm statistics
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


def tiny_gap(seed: int = 4):
    """Conv, relu, global average pool, linear: any input height and width."""
    torch = import_torch()
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 4)).eval()  # fmt: skip


def save_pt2(model, path: Path, shape=(1, 3, 8, 8), dynamic_batch: bool = False, dynamic_hw: bool = False) -> Path:
    """``torch.export.save`` of ``model`` exported at ``shape`` (batch/spatial dims symbolic if asked)."""
    torch = import_torch()
    dims = None
    if dynamic_batch or dynamic_hw:
        d = torch.export.Dim
        spec = {0: d("batch", min=1, max=64)} if dynamic_batch else {}
        if dynamic_hw:
            spec.update({2: d("h", min=8, max=64), 3: d("w", min=8, max=64)})
        dims = ({**spec},)
    if dynamic_batch:  # torch specializes a size-1 example dimension to 1
        shape = (2, *shape[1:])
    torch.export.save(torch.export.export(model, (torch.zeros(shape),), dynamic_shapes=dims), str(path))
    return path
