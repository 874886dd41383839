"""Apply pruning specs to a Keras model: ops, then channels, then sparsity, then fine-tuning."""

from __future__ import annotations

from collections.abc import Callable

from edgekit.errors import ConversionError, EdgekitError
from quantize.prune.spec import PruneSpec


def prune_keras(model, specs: list[PruneSpec], *, calib=None, train=None, epochs: int = 5,
                on_pruned: Callable[[object], None] | None = None):  # fmt: skip
    """``(pruned copy of model, record)``. The input model is never changed.

    ``train`` is a labelled Dataset to fine-tune on for ``epochs``; ``on_pruned(model)`` is
    called with the pruned model before fine-tuning (to measure post-training accuracy).
    """
    from quantize.prune.finetune import finetune
    from quantize.prune.channels import prune_channels
    from quantize.prune.graph import read_graph, rebuild
    from quantize.prune.magnitude import prune_magnitude
    from quantize.prune.ops import prune_ops

    record: dict = {"specs": [s.to_json() for s in specs]}
    # Layers made by the rebuilds draw their seeds (Dropout in fine-tuning) from here.
    read_graph(model).K.utils.set_random_seed(0)
    masks = None
    try:
        for spec in specs:
            if spec.kind == "ops":
                model, removed = prune_ops(model, spec.fold_bn)
                record["ops"] = removed
            elif spec.kind == "channels":
                model, record["channels"] = prune_channels(model, spec, calib)
            else:
                model, masks, record["sparsity"] = prune_magnitude(model, spec)
        if train is not None:
            if on_pruned is not None:
                on_pruned(model)
            record["finetune"] = finetune(model, train, epochs, masks)
            model = rebuild(read_graph(model))  # an uncompiled copy: no optimizer state to save
    except EdgekitError:
        raise
    except Exception as e:  # Keras raises anything from ValueError to TypeError
        raise ConversionError(f"pruning failed: {type(e).__name__}: {str(e).strip().splitlines()[0][:300]}") from e
    return model, record
