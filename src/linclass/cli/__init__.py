"""The ``linclass`` command line: one typer app, one module per command.

The commands are loaded when they are used (:class:`LazyCommands`): ``linclass --help``
and ``linclass --version`` import typer and nothing of the library, ``linclass explain``
imports what ``explain`` needs and not scikit-learn, matplotlib or torch. Each command's
one-line summary for the root ``--help`` is kept in :data:`COMMANDS`, beside the module
that holds it; ``tests/test_startup.py`` checks that it matches the command's docstring.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup


class CommandSpec(NamedTuple):
    """Where a command lives, and the summary the root ``--help`` shows for it."""

    module: str
    attribute: str  # a command function, or a typer.Typer (a group of subcommands)
    summary: str
    epilog: str | None = None  # the module attribute holding the command's examples


#: Every command, in the order of ``linclass --help``.
COMMANDS: dict[str, CommandSpec] = {
    "train": CommandSpec("linclass.cli.train", "train", "Train a linear classifier "
                         "f(x) = Wx + b on images and write a run folder.", "EPILOG"),
    "evaluate": CommandSpec("linclass.cli.evaluate", "evaluate", "Score a saved model on a "
                            "dataset split: accuracy, per-class table, confusion matrix.",
                            "EPILOG"),
    "predict": CommandSpec("linclass.cli.predict", "predict",
                           "Predict the class of images with a saved model.", "EPILOG"),
    "search": CommandSpec("linclass.cli.search", "search", "Search learning rate x "
                          "regularization strength on the validation split.", "EPILOG"),
    "explain": CommandSpec("linclass.cli.explain", "explain", "Explain the loss of one "
                           "example step by step, like the lecture's slides.", "EPILOG"),
    "plot": CommandSpec("linclass.cli.plot", "plot", "Re-draw a run's pictures (templates, "
                        "history, confusion, landscape) and report.", "EPILOG"),
    "regress": CommandSpec("linclass.cli.regress", "regress", "Fit a linear regressor "
                           "(squared error + penalty) and report R^2 and MSE.", "EPILOG"),
    "gradcheck": CommandSpec("linclass.cli.gradcheck", "gradcheck", "Compare numerical, "
                             "analytic and autodiff gradients; exit 1 if any pair "
                             "disagrees.", "EPILOG"),
    "playground": CommandSpec("linclass.cli.playground", "playground", "Start the "
                              "interactive playground: 2-D hyperplanes and image templates, "
                              "live.", "EPILOG"),
    "export": CommandSpec("linclass.cli.export", "export", "Export a saved model to ONNX, "
                          "for onnxruntime and other runtimes.", "EPILOG"),
    "cache": CommandSpec("linclass.cli.cache", "app",
                         "The feature cache: HOG and histogram features computed once."),
}

#: Commands built so far, shared by every click group made from :data:`app` (CliRunner
#: builds one per invocation).
_LOADED: dict[str, Any] = {}


def load_command(name: str) -> Any:
    """The (typer-built click) command ``name``, importing its module on first use."""
    if name not in _LOADED:
        spec = COMMANDS[name]
        module = importlib.import_module(spec.module)
        target: Any = getattr(module, spec.attribute)
        if isinstance(target, typer.Typer):
            command = typer.main.get_command(target)
        else:
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
            epilog = getattr(module, spec.epilog) if spec.epilog else None
            single.command(name=name, epilog=epilog)(target)
            command = typer.main.get_command(single)
        command.name = name
        _LOADED[name] = command
    return _LOADED[name]


class LazyCommands(TyperGroup):
    """A typer group whose commands are imported when run or asked for their own help.

    The root ``--help`` lists them from :data:`COMMANDS` without importing them.
    """

    _listing = False

    # (typer vendors click: its Context and Command are typer._click's, not click's)
    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing and cmd_name not in _LOADED:
            summary = COMMANDS[cmd_name].summary
            return TyperCommand(cmd_name, help=summary, short_help=summary)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="linclass",
    cls=LazyCommands,
    help="Linear image classifiers, built the way the lecture builds them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"linclass {version('linclass')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("linclass (version unknown: the package is not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Linear image classifiers, built the way the lecture builds them."""
    from linclass.cli.common import warnings_as_lines

    # Every command's warnings, one line each in the CLI's words (a command with --quiet
    # catches its own first and drops them).
    ctx.with_resource(warnings_as_lines(quiet=False))


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["COMMANDS", "app", "load_command", "main"]
