"""The README and docs/ stay linked and current: relative links resolve (files and heading
anchors), generated tables equal their generators' output, and the README stays short.
No TensorFlow: the generators read plain Python tables and a JSON file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools import gen_docs

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The page without fenced code blocks and inline code spans (no links live there)."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # links keep their text
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", path.read_text(), flags=re.S | re.M)
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def test_slugs_follow_github():
    assert slug("`edgekit header MODEL.tflite`") == "edgekit-header-modeltflite"
    assert slug("`edgekit prune MODEL -p SPEC -o OUT`") == "edgekit-prune-model--p-spec--o-out"
    assert slug("Exit codes and `validation.json`") == "exit-codes-and-validationjson"
    assert slug("Size effect of 80% sparsity, per target") == "size-effect-of-80-sparsity-per-target"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_page_is_in_the_index():
    index = (ROOT / "docs" / "README.md").read_text()
    missing = [p.name for p in PAGES[1:] if p.name != "README.md" and f"]({p.name}" not in index]
    assert not missing, f"docs/README.md does not link {missing}"


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move detail into docs/ (at most 250)"


@pytest.mark.parametrize("name", sorted(gen_docs.GENERATED))
def test_generated_tables_are_current(name):
    page = gen_docs.GENERATED[name][0]
    assert gen_docs.page_block(name) is not None, f"{page}: markers of generated table {name} missing"
    assert gen_docs.page_block(name) == gen_docs.table(name), f"{page}: table {name} is stale: run `make docs`"


def test_every_cli_option_is_documented():
    """Each flag of each command appears in docs/ (the export table is generated from the schema)."""
    from edgekit.cli import cli

    text = "\n".join(p.read_text() for p in PAGES)
    missing = [f"{name} {flag}" for name, cmd in cli.commands.items() for p in cmd.params
               for flag in (*p.opts, *p.secondary_opts) if flag.startswith("--") and f"`{flag}" not in text
               and f"{flag}`" not in text and f" {flag}" not in text]  # fmt: skip
    assert not missing, f"undocumented options: {missing}"
