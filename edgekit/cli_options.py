"""The CLI's option plumbing: click options built from the option schema, and a repeated
single-value option made an error instead of click's "the last one wins"."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.errors import OptionError
from edgekit.options import Option


class OnceOption(click.Option):
    """A single-value option given twice is an error, not "the last one wins" (click's way):
    `validate --min-accuracy 0.9 --min-accuracy 0.5` must not quietly gate at 0.5."""

    def add_to_parser(self, parser, ctx) -> None:
        if self.multiple or self.count or self.is_flag:
            return super().add_to_parser(parser, ctx)
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append", nargs=self.nargs)

    def process_value(self, ctx, value):
        if isinstance(value, list) and not self.multiple and not self.count and not self.is_flag:
            if len(value) > 1:
                shown = ", ".join(" ".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in value)
                raise OptionError(f"{self.opts[-1]} was given {len(value)} times ({shown}); give it once")
            value = value[0]
        return super().process_value(ctx, value)


def option(*decls, **kw):
    """click.option with OnceOption: every hand-written option of the commands."""
    return click.option(*decls, cls=OnceOption, **kw)


def _given_once(o: Option):
    """A callback folding a repeated single-value option: joined when the option is a
    comma-separated list, otherwise one error line (the user said two different things)."""

    def fold(ctx, param, values):
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        if o.comma_list or o.joins:
            return ",".join(str(v) for v in values)
        shown = ", ".join(str(v) for v in values)
        raise OptionError(f"{o.flag} was given {len(values)} times ({shown}); give it once")

    return fold


def _click_param(o: Option):
    """The click option (or argument) of one schema option; every default is None ("not
    given"), so a config file's value is only overridden by a flag actually passed."""
    if o.positional:
        return click.argument(o.dest, required=False, type=click.Path(path_type=Path))
    kw: dict = {"help": o.help, "default": None, "multiple": o.multiple}
    if not o.is_flag and not o.multiple:
        # click keeps the last of a repeated option silently; `-t tflite -t tflm` means both.
        kw.update(multiple=True, callback=_given_once(o))
    if o.is_flag:
        kw["is_flag"] = True
    elif o.choices:
        kw["type"] = click.Choice(list(o.choices))
    elif o.type is Path:
        kw["type"] = click.Path(path_type=Path)
    elif o.type in (int, float) and o.parse is None:
        kw["type"] = o.type
    return click.option(*o.flags, o.dest, **kw)


def schema_options(options):
    """Decorate a command with the click parameters of ``options``, in their order."""

    def decorate(f):
        for o in reversed([o for o in options if o.flags or o.positional]):
            f = _click_param(o)(f)
        return f

    return decorate
