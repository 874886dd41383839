"""Accuracy checks for your own test suite.

    from edgekit.testing import assert_artifact_accuracy

    def test_int8_model_is_good_enough():
        assert_artifact_accuracy("build/", "data/eval.npz", max_drop=0.5, min_cosine=0.99)

The build directory is the one ``edgekit export`` wrote; nothing is written into it.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.simulate.gates import Gates


def assert_artifact_accuracy(build_dir: str | Path, eval_data: str | Path, *, max_drop: float | None = None,
                             min_cosine: float | None = None, min_accuracy: float | None = None,
                             targets: tuple[str, ...] = (), task: str | None = None, model: str | Path | None = None,
                             litert_kernels: str | None = None) -> dict:  # fmt: skip
    """Run every artifact of ``build_dir`` on ``eval_data`` and assert the bounds.

    Units as on the CLI: ``max_drop`` in percentage points, ``min_accuracy`` in percent
    (95, not 0.95: a value in (0, 1] is refused), ``min_cosine`` from -1 to 1. Raises
    AssertionError listing each failed check as ``artifact: metric value vs bound`` (also when
    no artifact could be validated); returns the evaluation result (the content of
    validation.json) when all pass. Bad bounds, targets or labels raise an EdgekitError.
    """
    from edgekit.validate import validate_build

    if max_drop is None and min_cosine is None and min_accuracy is None:
        raise ValueError("give at least one bound: max_drop, min_cosine or min_accuracy")
    gates = Gates(max_drop=max_drop, min_cosine=min_cosine, min_accuracy=min_accuracy)
    report = validate_build(Path(build_dir), str(eval_data), model_path=str(model) if model else None, task=task,
                            gates=gates, targets=tuple(targets), litert_kernels=litert_kernels, write=False)  # fmt: skip
    failed = [g for g in report.gates if not g.passed]
    if failed:
        lines = "\n".join(f"  {g.message}" for g in failed)
        raise AssertionError(f"{len(failed)} accuracy check(s) failed for {build_dir}:\n{lines}")
    return report.result
