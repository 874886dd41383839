import os

import pytest

from edgekit.errors import OutputError
from edgekit.outdir import staged_output, write_files
from edgekit.outlock import locked, locked_dir
from tests.conftest import run_cli


def test_a_second_run_fails_at_once_naming_the_first(tmp_path):
    out = tmp_path / "build"
    with locked(out, "--out"):
        with pytest.raises(OutputError, match=rf"--out {out} is being written by another edgekit run \(pid {os.getpid()}\)"):
            with staged_output(out, force=True):
                raise AssertionError("the work started")
    assert os.listdir(tmp_path) == []  # the lock file goes with the lock


def test_a_dead_runs_lock_does_not_block(tmp_path):
    (tmp_path / ".build.lock").write_text("999999999\n")
    with staged_output(tmp_path / "build", force=False) as stage:
        assert (tmp_path / ".build.lock").read_text() == f"{os.getpid()}\n"
        (stage / "done").write_text("x")
    assert os.listdir(tmp_path) == ["build"]


def test_a_planted_lock_link_is_refused_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / ".build.lock").symlink_to(victim)
    with pytest.raises(OutputError, match=r"\.build\.lock is a symlink"):
        with staged_output(tmp_path / "build", force=False):
            raise AssertionError("the work started")
    assert victim.read_text() == "precious" and sorted(os.listdir(tmp_path)) == [".build.lock", "victim"]


def test_export_while_another_run_holds_the_destination(tiny_keras, tmp_path):
    out = tmp_path / "build"
    with locked(out, "--out"):
        res = run_cli("export", tiny_keras, "-o", out, "--no-latency")
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1] == (
        f"error: --out {out} is being written by another edgekit run (pid {os.getpid()}); "
        "wait for it to finish or choose another --out"
    )
    assert os.listdir(tmp_path) == []


def test_sources_written_into_a_directory_another_run_is_writing_into(tmp_path):
    with locked_dir(tmp_path, "-o"):
        with pytest.raises(OutputError, match=rf"-o {tmp_path}: another edgekit run is writing into it"):
            write_files(tmp_path, {"a.h": "A"}, force=False)
    assert os.listdir(tmp_path) == []
    write_files(tmp_path, {"a.h": "A"}, force=False)
    assert os.listdir(tmp_path) == ["a.h"]
