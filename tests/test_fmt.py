import io

from rich.console import Console

from edgekit.fmt import printable, safe


def test_safe_text_prints_literally_and_without_controls():
    name = "a[/]b[bold]c\x1b[31mred\r\x07\u202e"
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=False).print(f"[bold]x[/] {safe(name)}")
    text = out.getvalue()
    assert text == "x a[/]b[bold]c\\x1b[31mred\\x0d\\x07\\u202e\n"
    assert printable("tab\tok") == "tab\\x09ok"
