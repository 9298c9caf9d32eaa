"""The commands' options, made from the records of :mod:`linclass.options`.

A command lists the record names it offers; :func:`record_options` adds one typer option
per name to its signature (flag, type, choices, range check, help with the range and the
choices that use it), and hands the values to the command as one ``options`` dict. So
``linclass train --help`` and ``LinearClassifier``'s checks say the same things, and a new
record appears in every command that lists it.

Choice-owned options (``--margin``, ``--momentum``, ``--population-size``, ...) default to
"not set": the estimator then uses that choice's default, and setting one that the chosen
loss, penalty, optimizer or feature kind does not use is a usage error naming the option
(:func:`check_owned`).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

import rich.markup
import typer

from linclass.options import (
    FAMILIES,
    OPTIMIZER_PARAMS,
    PARAMS,
    Param,
    check_choice_params,
    owners,
)

#: Options of the estimator a training command offers (``random_state`` and ``verbose``
#: come from ``--seed`` and ``--quiet``).
#: The optimizers' own options are every optimizer record's (:data:`linclass.options.
#: OPTIMIZER_PARAMS`), so a new one (``--lbfgs-memory``) reaches every training command.
TRAINING = (
    "loss", "penalty", "alpha", "l1_ratio", "margin", "optimizer", "gradient",
    "numerical_method", "numerical_h", *OPTIMIZER_PARAMS, "max_epochs", "tol", "patience",
    "early_stopping", "scaling", "backend", "device", "class_weight",
)
#: Feature parameters (``--features`` chooses the kinds).
FEATURES = ("hist_bins", "hog_orientations", "hog_pixels_per_cell", "hog_cells_per_block")

#: How a CLI user spells each parameter.
FLAGS: dict[str, str] = {name: p.cli_flag for name, p in PARAMS.items()}


#: The library's words for its arguments, and the CLI's for the same thing, where the flag
#: is not the parameter's ``cli_flag`` (:func:`in_cli_words` does those).
CLI_WORDS = {"data_dir=DIR": "--data DIR", "data_dir": "--data", "image_size": "--image-size",
             'color_mode="gray"': "--color-mode gray", 'color_mode="rgb"': "--color-mode rgb",
             'color_mode="auto"': "--color-mode auto", "color_mode": "--color-mode",
             'on_error="skip"': "--skip-bad", "on_error": "--skip-bad",
             "random_state": "--seed", "validation_fraction": "--val-fraction",
             "pass force=True (CLI: --force)": "pass --force"}

_ESTIMATOR_NAME = re.compile(r"\b(?:Linear|Image)(?:Classifier|Regressor)\b")
_PARAM_WORD = re.compile(r"`([a-z][a-z0-9_]*)`|\b([a-z][a-z0-9_]*)(?:=(None\b|[^\s,;:()]+))?")


def in_cli_words(text: str) -> str:
    """A message of the library in the command line's words, the one translation of them.

    The library speaks Python: ``raise max_epochs``, ``set tol=None``, ``LinearClassifier
    stopped``. A user of ``linclass`` types flags: ``raise --epochs``, ``set --tol none``,
    ``the fit stopped``. Replaced are :data:`CLI_WORDS`, the estimators' class names, a
    parameter given a value (``tol=0.001`` -> ``--tol 0.001``, any parameter of
    :data:`linclass.options.PARAMS`) and a bare parameter name that cannot be an English
    word (one with an underscore, or in backticks: ```patience``` -> ``--patience``).

    Args:
        text: The library's message.

    Returns:
        The message with the CLI's flags.
    """
    for python, cli in CLI_WORDS.items():
        text = text.replace(python, cli)
    text = _ESTIMATOR_NAME.sub("the fit", text)

    def flag(match: re.Match[str]) -> str:
        quoted, name, value = match.group(1), match.group(2), match.group(3)
        if quoted is not None:
            return PARAMS[quoted].cli_flag if quoted in PARAMS else match.group(0)
        if name not in PARAMS or (value is None and "_" not in name):
            return match.group(0)
        if value is None:
            return PARAMS[name].cli_flag
        return f"{PARAMS[name].cli_flag} {'none' if value == 'None' else value}"

    return _PARAM_WORD.sub(flag, text)


def _help(p: Param) -> str:
    """A record's help as ``--help`` shows it: in the CLI's words, range and owners added,
    square brackets kept (rich would read ``linclass[torch]`` as a style tag)."""
    text = in_cli_words(p.help)
    if p.type in (int, float):
        text += f" Must be {p.range_text()}."
    if p.owned:
        family = next((f for f in FAMILIES if owners(p.name, f)), None)
        if family is not None:
            text += f" For {family} {', '.join(owners(p.name, family))}."
    return rich.markup.escape(text)


def _parse_optional_number(p: Param) -> Callable[[Any], Any]:
    """Callback for a number that may also be ``none`` (``--tol none``)."""

    def parse(value: Any) -> Any:
        if value is None or isinstance(value, (int, float)):
            return _checked(p)(value)
        if str(value).strip().lower() == "none":
            return None
        try:
            number = p.type(str(value)) if p.type is int else float(str(value))
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a number or 'none'") from None
        return _checked(p)(number)

    return parse


def _checked(p: Param) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        try:
            return p.check(value, p.cli_flag)
        except ValueError as e:
            raise typer.BadParameter(str(e).replace(f"{p.cli_flag} ", "", 1)) from None

    return check


def typer_parameter(name: str, *, default: Any = ..., cli_default: Any = ...) -> inspect.Parameter:
    """A keyword parameter carrying the typer option of record ``name``.

    Args:
        name: A key of :data:`linclass.options.PARAMS`.
        default: Override of the CLI default (``...``: the record's, or "not set" for
            choice-owned parameters).
        cli_default: What ``--help`` shows as the default.
    """
    p = PARAMS[name]
    value = (None if p.owned else p.default) if default is ... else default
    decls = [p.cli_flag]
    kw: dict[str, Any] = dict(help=_help(p))
    if p.owned and default is ...:
        kw["show_default"] = str(p.default) if p.default is not None else "per optimizer"
    if cli_default is not ...:
        kw["show_default"] = cli_default
    if p.type is bool:
        decls = [f"{p.cli_flag}/--no-{p.cli_flag[2:]}"]
        annotation: Any = bool
    elif p.type is str and p.choices:
        annotation = Literal[tuple(p.choices or ())]
        if value is None:
            annotation = annotation | None
    elif p.none_ok and name == "tol":
        annotation, kw["callback"] = str | None, _parse_optional_number(p)
        kw["metavar"] = "FLOAT|none"
        value = None if value is None else str(value)
    else:
        annotation = p.type if value is not None else p.type | None
        kw["callback"] = _checked(p)
        if value is None and p.none_ok:
            kw["show_default"] = "auto"
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                             default=typer.Option(value, *decls, **kw), annotation=annotation)


def record_options(
    *names: str, **defaults: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the typer options of ``names`` to a command; it receives them as ``options``.

    Args:
        *names: Record names, in the order ``--help`` lists them.
        **defaults: CLI defaults that differ from the records'.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        own = [q for q in sig.parameters.values() if q.name != "options"]
        added = [typer_parameter(n, **({"default": defaults[n]} if n in defaults else {}))
                 for n in names]

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            options = {n: kwargs.pop(n) for n in names}
            return fn(**kwargs, options=options)

        params = [q.replace(kind=inspect.Parameter.KEYWORD_ONLY) for q in own] + added
        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {q.name: q.annotation for q in params}
        del command.__wrapped__  # typer must read the new signature, not fn's
        return command

    return decorate


def check_owned(options: Mapping[str, Any], selected: Mapping[str, Any]) -> None:
    """Usage error (exit 2) for an option set where the chosen loss, penalty, optimizer or
    features do not use it, naming the flags: ``--lr applies to optimizer gd, sgd, ...``."""
    try:
        check_choice_params(options, selected, spell=FLAGS)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


__all__ = ["CLI_WORDS", "FEATURES", "FLAGS", "TRAINING", "check_owned", "in_cli_words",
           "record_options", "typer_parameter"]
