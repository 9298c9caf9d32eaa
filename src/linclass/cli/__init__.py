"""The ``linclass`` command line: one typer app, one module per command."""

from __future__ import annotations

import typer

from linclass.cli import cache, evaluate, explain, plot, predict, regress, search, train
from linclass.cli.common import warnings_as_lines
from linclass.cli.gradcheck import gradcheck
from linclass.cli.playground import playground

app = typer.Typer(
    name="linclass",
    help="Linear image classifiers, built the way the lecture builds them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Linear image classifiers, built the way the lecture builds them."""
    # Every command's warnings, one line each in the CLI's words (a command with --quiet
    # catches its own first and drops them).
    ctx.with_resource(warnings_as_lines(quiet=False))


# One module per command, each with an EPILOG of examples shown by --help.
app.command(epilog=train.EPILOG)(train.train)
app.command(epilog=evaluate.EPILOG)(evaluate.evaluate)
app.command(epilog=predict.EPILOG)(predict.predict)
app.command(epilog=search.EPILOG)(search.search)
app.command(epilog=explain.EPILOG)(explain.explain)
app.command(epilog=plot.EPILOG)(plot.plot)
app.command(epilog=regress.EPILOG)(regress.regress)
app.command(epilog="Examples:\n\n  linclass gradcheck --loss svm --penalty l2\n\n"
            "  linclass gradcheck --dataset fashion-mnist --n 32 --samples 200\n")(gradcheck)
app.command(epilog="Examples:\n\n  linclass playground --open-browser\n")(playground)
app.add_typer(cache.app, name="cache")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
