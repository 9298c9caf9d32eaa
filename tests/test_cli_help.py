"""Every command's ``--help``, read as a user reads it: no placeholder left unfilled, no
flag that is not there, no text eaten by rich's markup."""

from __future__ import annotations

import re

import pytest
import typer
import typer.rich_utils

import linclass.options
from linclass.cli import app

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: ``linclass train ...`` in an example: the flags after it are that command's.
EXAMPLE = re.compile(r"\blinclass((?: [a-z][a-z-]*)+)")
#: The ALL_CAPS constants of linclass.options (UPDATE_BUDGET, MIN_AUTO_EPOCHS, ...).
CONSTANTS = sorted(n for n in vars(linclass.options) if re.fullmatch(r"[A-Z][A-Z0-9_]+", n))
#: What rich reads as a markup tag, and drops, in a help text: ``[torch]``, ``[default]``.
TAG = re.compile(r"(?<!\\)\[([a-z#/@][^\[\]]*)\]")


def _commands(command, path: tuple[str, ...] = ()):
    """``(path, command)`` for the app and every command and subcommand under it (the
    root group loads its commands when asked for them: ``linclass.cli.LazyCommands``)."""
    yield path, command
    if hasattr(command, "list_commands"):  # a group
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = dict(_commands(ROOT))


def _flags(command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def _resolve(words: list[str]):
    """The deepest command a ``linclass w1 w2 ...`` example names."""
    command, path = ROOT, ()
    for word in words:
        if (*path, word) not in COMMANDS:
            break
        path = (*path, word)
        command = COMMANDS[path]
    return command


@pytest.fixture(scope="module")
def wide_help():
    """``--help`` of each command, rendered wide enough that no line wraps."""
    from typer.testing import CliRunner

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.rich_utils, "MAX_WIDTH", 1000)
        runner = CliRunner()
        texts = {}
        for path in COMMANDS:
            result = runner.invoke(app, [*path, "--help"])
            assert result.exit_code == 0, (path, result.output)
            texts[path] = result.output
    return texts


def test_every_command_is_scanned(wide_help):
    assert {("train",), ("regress",), ("cache", "info"), ()} <= set(wide_help)


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "linclass")
def test_help_names_only_flags_that_exist(wide_help, path):
    """A flag in a command's help is one of its own, or one of the command an example
    line runs (``linclass train --dataset ...`` in the help of ``cache``)."""
    wrong = []
    for line in wide_help[path].splitlines():
        example = EXAMPLE.search(line)
        if example:
            command, text = _resolve(example.group(1).split()), line[example.end():]
        else:
            command, text = COMMANDS[path], line
        wrong += [f"{f} ({line.strip()[:80]})" for f in FLAG.findall(text)
                  if f not in _flags(command)]
    assert not wrong, f"linclass {' '.join(path)} --help names flags it does not have: {wrong}"


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "linclass")
def test_help_has_no_unfilled_placeholder(wide_help, path):
    left = [c for c in CONSTANTS if re.search(rf"\b{c}\b", wide_help[path])]
    assert not left, f"linclass {' '.join(path)} --help shows {left} instead of their values"


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "linclass")
def test_help_keeps_square_brackets(wide_help, path):
    """Rich reads ``[torch]`` as a style tag and drops it: ``pip install linclass``."""
    text = " ".join(wide_help[path].split())
    lost = [f"[{tag}]" for p in COMMANDS[path].params
            for tag in TAG.findall(getattr(p, "help", None) or "") if f"[{tag}]" not in text]
    assert not lost, f"linclass {' '.join(path)} --help lost {lost}"
