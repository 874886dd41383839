"""edgekit/cli_options.py: a single-value option given twice is an error, a list option joins."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from edgekit.cli_options import option
from edgekit.errors import OptionError


@click.command()
@option("--min", "low", type=float)
@option("--force", is_flag=True)
def _cmd(low, force):
    click.echo(f"{low} {force}")


def test_once_option_keeps_one_value_and_refuses_two():
    assert CliRunner().invoke(_cmd, ["--min", "0.9", "--force", "--force"]).output == "0.9 True\n"
    with pytest.raises(OptionError, match=r"--min was given 2 times \(0.9, 0.5\); give it once"):
        CliRunner().invoke(_cmd, ["--min", "0.9", "--min", "0.5"], catch_exceptions=False)
