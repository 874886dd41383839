"""pyproject.toml ships every Python package and every data file a non-editable install needs
(an editable install finds them in the tree, so nothing else would notice a missing one)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from tests.conftest import ROOT


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _folder(package: str, config: dict) -> str:
    return config["package-dir"].get(package, package.replace(".", "/"))


def test_every_python_package_is_listed():
    config = _setuptools()
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("edgekit", "quantize", "targets") for p in (ROOT / top).rglob("__init__.py")}  # fmt: skip
    assert found - set(config["packages"]) == set()


def test_every_data_file_is_package_data():
    config = _setuptools()
    missing = []
    for package, globs in config["package-data"].items():
        root = ROOT / _folder(package, config)
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in rel.parts:
                continue
            # files of a subpackage belong to that package's entry
            if any((root / Path(*rel.parts[:i]) / "__init__.py").exists() for i in range(1, len(rel.parts))):
                continue
            if not any(fnmatch.fnmatch(str(rel), g) and len(rel.parts) == g.count("/") + 1 for g in globs):
                missing.append(f"{package}: {rel}")
    assert missing == []
