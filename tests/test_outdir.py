import os
from pathlib import Path

import pytest

from edgekit.errors import OutputError
from edgekit.outdir import check_output, staged_output


def test_commit_and_rollback(tmp_path):
    out = tmp_path / "build"
    with pytest.raises(RuntimeError):
        with staged_output(out, force=False) as stage:
            (stage / "half.bin").write_bytes(b"x")
            raise RuntimeError("boom")
    assert not out.exists() and os.listdir(tmp_path) == []
    with staged_output(out, force=False) as stage:
        (stage / "done.bin").write_bytes(b"x")
    assert (out / "done.bin").exists() and os.listdir(tmp_path) == ["build"]


def test_stale_stages_of_dead_runs_are_removed(tmp_path):
    dead = tmp_path / ".build.tmp-999999999_abc"
    dead.mkdir()
    alive = tmp_path / f".build.tmp-{os.getpid()}_xyz"
    alive.mkdir()
    with staged_output(tmp_path / "build", force=False):
        pass
    assert not dead.exists() and alive.exists()


def test_unwritable_parent(tmp_path):
    # Root can write through permission bits, so use places no one can create directories in.
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not writable"):
        check_output(tmp_path / "file" / "build", force=False)
    with pytest.raises(OutputError, match="/proc/edgekit-test/build"):
        with staged_output(Path("/proc/edgekit-test/build"), force=False):
            pass


def test_output_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        check_output(tmp_path / "f", force=True)


def test_replacing_a_build_swaps_in_one_step(tmp_path):
    out = tmp_path / "build"
    with staged_output(out, force=False) as stage:
        (stage / "v1").write_text("1")
    with staged_output(out, force=True) as stage:
        (stage / "v2").write_text("2")
    assert sorted(os.listdir(out)) == ["v2"] and os.listdir(tmp_path) == ["build"]


def test_a_build_moved_aside_by_a_killed_run_is_restored(tmp_path):
    old = tmp_path / ".build.old-999999999"  # killed between the two renames of the fallback swap
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    with pytest.raises(OutputError, match="already exists"):
        with staged_output(tmp_path / "build", force=False):
            pass
    assert (tmp_path / "build" / "manifest.json").exists() and not old.exists()
