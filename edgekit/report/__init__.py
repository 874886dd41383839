"""The build report: report.html and report.md, made from a build directory's JSON files
(manifest.json, validation.json, simulation.json) and nothing else that varies."""

from __future__ import annotations

from pathlib import Path

from edgekit.build import REPORT_HTML, REPORT_MD


def write_report(build_dir: Path) -> list[Path]:
    """(Re)write report.html and report.md in ``build_dir``; each write is atomic."""
    from edgekit import __version__
    from edgekit.report.data import collect
    from edgekit.report.html import render_html
    from edgekit.report.markdown import render_markdown
    from edgekit.files import atomic_write

    build_dir = Path(build_dir)
    try:
        view = collect(build_dir)
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        from edgekit.errors import ModelFileError

        raise ModelFileError(f"{build_dir}: its JSON files are not what edgekit writes ({type(e).__name__}: {e}); "
                             "re-export the build") from e  # fmt: skip
    pages = {REPORT_HTML: render_html(view, __version__), REPORT_MD: render_markdown(view)}
    for name, text in pages.items():
        atomic_write(build_dir / name, text)
    return [build_dir / name for name in pages]


def refresh_report(build_dir: Path, final: Path | None = None) -> str | None:
    """``write_report`` for the end of export/validate/simulate: a report that cannot be made
    never fails the command (its results are already written); returns the reason instead.
    ``final``: where the build will be (export writes into a staging directory first)."""
    try:
        write_report(build_dir)
    except Exception as e:  # noqa: BLE001 - the build and its JSON are the truth; the pages are a view
        where = final or build_dir
        return f"report.html/report.md not written ({type(e).__name__}: {e}); `edgekit report {where}` retries"
    return None
