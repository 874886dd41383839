import os
from pathlib import Path

import pytest

from edgekit.errors import OutputError
from edgekit.outdir import STAGE_MARKER, current_umask, atomic_write, check_output, staged_output, temp_file, write_files


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
        _build(stage)  # --force replaces edgekit builds only
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


# --- --force replaces only an edgekit build or an empty directory (issue 14, case 3) ---

def _build(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text('{"edgekit_manifest": 1, "artifacts": []}\n')
    return path


def test_force_refuses_a_directory_that_is_not_a_build(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "digits.keras").write_text("model")
    (proj / "manifest.json").write_text("{}")  # a manifest.json, but not edgekit's
    with pytest.raises(OutputError, match=rf"{proj}.*not an edgekit build"):
        with staged_output(proj, force=True):
            pass
    assert sorted(os.listdir(proj)) == ["digits.keras", "manifest.json"] and os.listdir(tmp_path) == ["proj"]


def test_force_replaces_a_build_or_an_empty_directory(tmp_path):
    for out in (_build(tmp_path / "old"), tmp_path / "empty"):
        out.mkdir(exist_ok=True)
        with staged_output(out, force=True) as stage:
            (stage / "new").write_text("x")
        assert os.listdir(out) == ["new"]
    assert sorted(os.listdir(tmp_path)) == ["empty", "old"]


def test_force_refuses_inputs_cwd_home_root_and_links(tmp_path, monkeypatch):
    build = _build(tmp_path / "build")
    (build / "sub").mkdir()
    with pytest.raises(OutputError, match=r"holds .*model\.tflite.*an input"):
        check_output(build, force=True, keep=[build / "sub" / "model.tflite"])
    monkeypatch.chdir(build / "sub")
    for out in (Path("."), Path(".."), build):
        with pytest.raises(OutputError, match=rf"{build}.*current directory"):
            check_output(out, force=True)
    monkeypatch.setenv("HOME", str(build))
    with pytest.raises(OutputError, match="home directory"):
        check_output(tmp_path / "build", force=True)
    with pytest.raises(OutputError, match="filesystem root"):
        check_output(Path("/"), force=True)
    with pytest.raises(OutputError, match="mount point"):
        check_output(Path("/proc"), force=True)
    link = tmp_path / "link"
    link.symlink_to(build)
    with pytest.raises(OutputError, match=rf"{link} is a symlink"):
        with staged_output(link, force=True):
            pass
    assert link.is_symlink() and (build / "manifest.json").exists()


# --- temporary names are unpredictable and never followed (case 4) ---

def test_write_files_and_atomic_write_never_follow_planted_symlinks(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "src"
    out.mkdir()
    for name in ("a.h", "b.c"):  # the names an earlier edgekit used for its temporary files
        (out / f".{name}.tmp-{os.getpid()}").symlink_to(victim)
    write_files(out, {"a.h": "A", "b.c": "B"}, force=False)
    atomic_write(out / "b.c", "B2")
    assert victim.read_text() == "precious"
    assert (out / "a.h").read_text() == "A" and (out / "b.c").read_text() == "B2"
    assert not (out / "a.h").is_symlink() and (out / "a.h").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_temporary_names_are_fresh_and_exclusive(tmp_path):
    (fd1, a), (fd2, b) = temp_file(tmp_path, "x.h"), temp_file(tmp_path, "x.h")
    os.close(fd1), os.close(fd2)
    assert a != b and a.parent == b.parent == tmp_path and ".tmp-" in a.name
    assert a.name != f".x.h.tmp-{os.getpid()}"


def test_write_files_force_replaces_only_its_files_and_not_link_targets(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "src"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    (out / "a.h").symlink_to(victim)
    with pytest.raises(OutputError, match="a.h already exist"):
        write_files(out, {"a.h": "A"}, force=False)
    (out / "b.c").mkdir()
    with pytest.raises(OutputError, match=r"b\.c.*directory"):
        write_files(out, {"a.h": "A", "b.c": "B"}, force=True)
    assert (out / "a.h").is_symlink()  # nothing was replaced: all or nothing
    write_files(out, {"a.h": "A"}, force=True)
    assert victim.read_text() == "precious" and (out / "a.h").read_text() == "A"
    assert sorted(os.listdir(out)) == ["a.h", "b.c", "mine.txt"] and (out / "mine.txt").read_text() == "keep"


def test_fallback_swap_never_follows_a_planted_old_name(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("precious")
    out = _build(tmp_path / "build")
    (tmp_path / f".build.old-{os.getpid()}").symlink_to(victim)
    monkeypatch.setattr("edgekit.outdir._exchange", lambda a, b: False)  # a filesystem without RENAME_EXCHANGE
    with staged_output(out, force=True) as stage:
        (stage / "new").write_text("x")
    assert os.listdir(out) == ["new"] and os.listdir(victim) == ["data"]


def test_stale_cleanup_removes_only_what_edgekit_made(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("precious")
    user = tmp_path / ".build.tmp-999999999_mine"  # a user's directory that looks like a stage
    user.mkdir()
    (user / "notes").write_text("mine")
    (tmp_path / ".build.tmp-999999999_link").symlink_to(victim)
    user_old = tmp_path / ".build.old-999999998"
    user_old.mkdir()
    (user_old / "notes").write_text("mine")
    ours = tmp_path / ".build.tmp-999999999_ours"
    ours.mkdir()
    (ours / STAGE_MARKER).write_text("")
    (ours / "half.bin").write_text("x")
    _build(tmp_path / "build")
    with staged_output(tmp_path / "build", force=True):
        pass
    assert not ours.exists() and (user / "notes").exists() and (user_old / "notes").exists()
    assert os.listdir(victim) == ["data"]


# --- the destination is checked before any work (case 6) ---

def test_bad_destinations_fail_before_the_work(tmp_path):
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for out, message in ((dangling, "is a symlink"), (tmp_path / ("b" * 240), "name is too long")):
        with pytest.raises(OutputError, match=message):
            with staged_output(out, force=True):
                raise AssertionError("the work started")
    assert os.listdir(tmp_path) == ["dangling"]
    deep = tmp_path / "new" / "deeper" / "build"
    with pytest.raises(RuntimeError):
        with staged_output(deep, force=False):
            raise RuntimeError("the run failed")
    assert os.listdir(tmp_path) == ["dangling"]  # the parents it created are gone too


def test_a_symlinked_parent_is_followed_to_the_real_directory(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "via").symlink_to(real)
    monkeypatch.chdir(tmp_path / "via")
    with staged_output(Path("..") / "via" / "build", force=False) as stage:
        (stage / "done").write_text("x")
    assert os.listdir(real / "build") == ["done"] and sorted(os.listdir(tmp_path)) == ["real", "via"]
