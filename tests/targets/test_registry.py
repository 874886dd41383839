"""The format registry: a fifth format is one package and one registry line.

The throwaway format in tests/targets/throwaway_format/ is registered here and nowhere else; it
must show up in every command that lists, exports, validates, times or reports formats.
"""

from __future__ import annotations

import json

import pytest

from targets import registry


@pytest.fixture
def with_lite(monkeypatch):
    monkeypatch.setattr(registry, "PACKAGES", (*registry.PACKAGES, "tests.targets.throwaway_format"))
    yield


def test_registry_lists_each_package_once_in_order():
    names = list(registry.formats())
    assert names == ["tflite", "tflm", "openvino", "coreml", "c"]
    for fmt in registry.formats().values():
        assert fmt.target.startswith(f"targets.{fmt.name}.")
        assert fmt.variants(), fmt.name


def test_listing_the_formats_imports_no_framework():
    import subprocess
    import sys

    code = ("import sys, targets.registry as r; r.formats(); "
            "print(sorted(m for m in ('tensorflow', 'openvino', 'coremltools', 'torch', 'keras') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_throwaway_format_reaches_every_command(with_lite, tiny_keras, tiny_data, tmp_path, capfd):
    from edgekit.cli import cli
    from edgekit.pipeline import ExportOptions, export
    from edgekit.report import write_report
    from edgekit.simulate.latency import artifacts_of, host_latency
    from edgekit.validate import validate_build

    # targets: the scheme table has a column for it
    with pytest.raises(SystemExit) as done:
        cli.main(["targets"], prog_name="edgekit")
    assert done.value.code == 0
    header = next(line for line in capfd.readouterr().out.splitlines() if "scheme" in line)
    assert header.split("┃")[1:-2][-1].strip() == "lite"  # the last column before "what it does"

    # export: alongside a built-in format, into one build
    build = tmp_path / "build"
    result = export(ExportOptions(model=tiny_keras, out=build, target=("tflite", "lite"), latency=True))
    assert [a.target for a in result.artifacts] == ["tflite", "lite"]
    lite = result.artifacts[1]
    assert lite.primary.suffix == ".lite" and lite.primary.is_file()
    manifest = json.loads((build / "manifest.json").read_text())
    assert [a["target"] for a in manifest["artifacts"]] == ["tflite", "lite"]
    assert result.latency["lite/float32"]["runs"] >= 1

    # validate: its runner (LiteRT) runs it and it agrees with the float model
    report = validate_build(build, str(tiny_data), targets=("lite",))
    assert list(report.result["artifacts"]) == ["lite/float32"]
    row = report.result["artifacts"]["lite/float32"]
    assert row["agreement"] == 1.0 and row["cosine"] > 0.9999
    assert report.passed

    # simulate: a build and a lone file of the format are timed with its default variant
    timed = host_latency(build, seconds=0.05, targets=("lite",))
    assert [r["variant"] for r in timed["artifacts"]["lite/float32"]] == ["default"]
    (alone,) = artifacts_of(lite.primary)
    assert alone.target == "lite"

    # report: its artifact is in the tables, in its own colour
    html, md = write_report(build)
    assert "lite/float32" in md.read_text()
    assert "#123456" in html.read_text()


def test_an_artifact_of_an_unregistered_format_is_a_clear_error(tmp_path):
    from edgekit.errors import UnsupportedError
    from targets import runner_for
    from targets.base import Artifact

    with pytest.raises(UnsupportedError, match="no runtime on this host runs lite artifacts"):
        runner_for(Artifact("lite", "float32", tmp_path, ("m.lite",), (), ()))
