"""edgekit: ship trained models to the edge, and prove every artifact."""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def block_triton() -> None:
    """Make ``import triton`` fail in this process, unless something imported it already.

    Triton (the GPU kernel compiler of ``torch.compile``; nothing edgekit runs uses it) comes
    with the PyTorch extra, and its native library crashes the process when it loads after
    TensorFlow's. ``torch._dynamo`` loads it whenever it is installed, and coremltools and
    torchvision import ``torch._dynamo`` on import: so with the extra installed, a Keras model
    exported to Core ML would crash. A failing import is what torch takes as "no triton".
    EDGEKIT_ALLOW_TRITON=1 leaves it alone (a process that uses torch.compile on a GPU and
    never loads TensorFlow)."""
    if "triton" not in _sys.modules and _os.environ.get("EDGEKIT_ALLOW_TRITON") != "1":
        _sys.modules["triton"] = None  # type: ignore[assignment]


block_triton()
