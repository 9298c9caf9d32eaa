"""The ``linclass`` command line: one typer app, one module per command."""

from __future__ import annotations

import typer

from linclass.cli.gradcheck import gradcheck
from linclass.cli.playground import playground
from linclass.cli.train import train

app = typer.Typer(
    name="linclass",
    help="Linear image classifiers, built the way the lecture builds them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Linear image classifiers, built the way the lecture builds them."""


app.command()(train)
app.command()(gradcheck)
app.command()(playground)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
