"""`edgekit prune` and `edgekit export --prune` through the real CLI."""

import json

from tests.conftest import EXAMPLE, run_cli
from tests.test_cli import _one_line_error


def test_prune_command_writes_a_loadable_model(tmp_path):
    out = tmp_path / "pruned.keras"
    res = run_cli("prune", EXAMPLE / "digits.keras", "-p", "channels=0.5,layers=conv", "-p", "ops",
                  "--eval", EXAMPLE / "eval.npz", "-o", out, "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout)
    assert record["after"]["params"] < record["before"]["params"] and record["after"]["top1"] > 0.8
    assert [r["layer"] for r in record["ops"]] and record["out"] == str(out)
    res = run_cli("inspect", out, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["macs"] == record["after"]["macs"]
    _one_line_error(run_cli("prune", EXAMPLE / "digits.keras", "-p", "ops", "-o", out), "already exists", "--force")


def test_prune_summary_table(tmp_path):
    res = run_cli("prune", EXAMPLE / "digits.keras", "-p", "sparsity=0.8", "--eval", EXAMPLE / "eval.npz",
                  "-o", tmp_path / "s.keras")  # fmt: skip
    assert res.returncode == 0, res.stderr
    for text in ("parameters", "MACs", "float32 .tflite", "gzipped", "weight sparsity", "80.00%", "top-1",
                 "post-training pruning alone", "wrote"):  # fmt: skip
        assert text in res.stdout, text


def test_bad_prune_options_are_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "o"
    digits = EXAMPLE / "digits.keras"
    cases = [
        (("export", digits, "--prune", "channels=1.5", "-o", out), ["--prune 'channels=1.5'", "below 1"]),
        (("export", digits, "--prune", "heads=0.5", "-o", out), ["--prune", "unknown kind"]),
        (("export", digits, "--finetune", EXAMPLE / "train.npz", "-o", out), ["--finetune", "--prune"]),
        (("export", digits, "-p", "ops", "--finetune", EXAMPLE / "calib.npz", "-o", out), ["--finetune", "no labels"]),
        (("prune", digits, "-p", "channels=x", "-o", out / "p.keras"), ["--prune", "not a number"]),
        (("prune", digits, "-p", "ops", "-o", tmp_path / "p.tflite"), ["--out", ".keras"]),
    ]
    for args, fragments in cases:
        _one_line_error(run_cli(*args), *fragments)
        assert not out.exists(), args
    assert list(tmp_path.iterdir()) == []


def test_prune_in_config(tmp_path):
    cfg = tmp_path / "edgekit.toml"
    cfg.write_text(f'[export]\nmodel = "{EXAMPLE / "digits.keras"}"\nprune = ["ops", "channels=0.25,layers=conv"]\n')
    res = run_cli("export", "--config", cfg, "-o", tmp_path / "b", "--json")
    assert res.returncode == 0, res.stderr
    manifest = json.loads(res.stdout)
    assert manifest["options"]["prune"] == ["ops", "channels=0.25,layers=conv"]
    assert [g["kept"] for g in manifest["source"]["pruning"]["channels"]["groups"]][:2] == [24, 48]
    cfg.write_text(f'model = "{EXAMPLE / "digits.keras"}"\nprune = 3\n')
    _one_line_error(run_cli("export", "--config", cfg, "-o", tmp_path / "c"), "'prune' must be a string or a list")
