"""edgekit: ship trained models to the edge, and prove every artifact."""

import sys as _sys

__version__ = "0.1.0"


def block_triton() -> None:
    """Make ``import triton`` fail in this process, unless something imported it already.

    Triton (the GPU kernel compiler of ``torch.compile``; nothing edgekit runs uses it) comes
    with the PyTorch extra, and its native library crashes the process when it loads after
    TensorFlow's. ``torch._dynamo`` loads it whenever it is installed, and coremltools and
    torchvision import ``torch._dynamo`` on import: so with the extra installed, a Keras model
    exported to Core ML would crash. A failing import is what torch takes as "no triton"."""
    if "triton" not in _sys.modules:
        _sys.modules["triton"] = None  # type: ignore[assignment]


block_triton()
