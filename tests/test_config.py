import pytest

from edgekit.config import load_config
from edgekit.errors import OptionError


def test_keys_paths_and_preprocess(tmp_path):
    cfg = tmp_path / "sub" / "edgekit.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        """
[export]
model = "m.keras"
calib = "random"
eval = "/abs/eval.npz"
calib-size = 20
quant = { tflite = ["int8", "float16"] }

[export.preprocess]
scale = 0.5
mean = [0.1, 0.2, 0.3]
"""
    )
    v = load_config(cfg)
    assert v["model"] == str(cfg.parent / "m.keras")
    assert v["calib"] == "random" and v["eval"] == "/abs/eval.npz"
    assert v["calib_size"] == 20 and v["quant"] == {"tflite": ["int8", "float16"]}
    assert v["preprocess"] == {"scale": 0.5, "mean": (0.1, 0.2, 0.3)}


def test_top_level_keys_work_without_section(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('target = "tflite"\nbatch = 2\n')
    assert load_config(cfg) == {"target": "tflite", "batch": 2}


@pytest.mark.parametrize(
    "text, message",
    [
        ("[export]\nbogus = 1\n", "unknown key 'bogus'"),
        ("[export]\ncalib_size = '5'\n", "'calib_size' must be an integer"),
        ("[export]\nbatch = true\n", "'batch' must be an integer"),
        ("[export]\nunsafe = true\n", "cannot be set in a config file"),
        ("[export]\ntarget = [1, 2]\n", "'target' must be a string or a list of strings"),
        ("[export]\n[export.preprocess]\nscale = 'x'\n", "scale must be a number"),
        ("[export]\n[export.preprocess]\nscale = [1, 2]\n", "scale must be one number"),  # was a TypeError (fuzzing)
        ("[export]\n[export.preprocess]\nshift = 1\n", "unknown preprocess key"),
        ("[export]\n[other]\n", "unknown top-level key"),
        ("this is = = not toml", "not valid TOML"),
        ("[export]\nquant = { tflite = 5 }\n", "'quant' must be a string, a list of strings or a table"),
        ("[export]\nquant = { tflite = [\"int8\", 2.5] }\n", "'quant' must be a string, a list of strings or a table"),
        ("[export]\ncoreml = 3\n", r"coreml must be a table \(\[export.coreml\]\)"),
        ("[export]\n[export.coreml]\nprecison = 'float32'\n", "unknown coreml key 'precison'; use deployment_target"),
        ("[export]\n[export.coreml]\nsparsity = 'half'\n", "'coreml.sparsity' must be a number, got str"),
        ("[export]\n[export.coreml]\ninput_names = [1]\n", "'coreml.input_names' must be a string or a list of strings"),
        ("[export]\njson = true\n", "unknown key 'json'"),
        ("[export]\nconfig = 'other.toml'\n", "unknown key 'config'"),
    ],
)
def test_errors(tmp_path, text, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(OptionError, match=message):
        load_config(cfg)


def test_missing(tmp_path):
    with pytest.raises(OptionError, match="no such file"):
        load_config(tmp_path / "none.toml")


def test_config_larger_than_any_config_refused(tmp_path):
    cfg = tmp_path / "huge.toml"
    with open(cfg, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse
    with pytest.raises(OptionError, match="--config .*huge.toml: 67,108,864 bytes, more than"):
        load_config(cfg)


def test_coreml_table_keys_and_paths(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[export]\nlabels = "l.txt"\nfinetune = "t.npz"\n[export.coreml]\ndeployment-target = "iOS17"\n'
                   'version = 3\ninput_names = ["image"]\n')  # fmt: skip
    v = load_config(cfg)
    assert v["coreml"] == {"deployment_target": "iOS17", "version": 3, "input_names": ["image"]}
    assert v["labels"] == str(tmp_path / "l.txt") and v["finetune"] == str(tmp_path / "t.npz")
