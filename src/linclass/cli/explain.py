"""``linclass explain``: the loss of one example, step by step, as the lecture's slides do it.

The numbers come from :func:`linclass.explain.explain_scores`; this module only lays them
out: one ``max(0, s_j - s_y + 1)`` line per wrong class for the SVM, and the slide's table
(scores, exp, normalized) then ``L = -log p`` for softmax. ``--slide`` shows the lecture's
other worked examples and questions (:mod:`linclass.explain_slides`,
:mod:`linclass.explain_gradient`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from linclass.cli import common
from linclass.cli.common import cli_errors
from linclass.explain import EXPLAINED_LOSSES, explain_scores
from linclass.explain_gradient import SLIDE_H, SLIDE_METHOD, kink_example, numerical_walkthrough
from linclass.explain_slides import kl_example, softmax_questions, svm_questions
from linclass.losses import DEFAULT_LOSS, SOFTMAX, SVM
from linclass.model import init_params
from linclass.options import resolved

#: The lecture's other worked examples, by ``--slide`` name.
SLIDES = ("kl", "svm-questions", "softmax-questions", "numerical-gradient", "kink")
#: Images of the digits set used by ``--slide numerical-gradient``.
WALKTHROUGH_ROWS = 100

EPILOG = """\
Examples (the lecture's cat image, scores cat 3.2, car 5.1, frog -1.7):

  linclass explain --scores 3.2,5.1,-1.7 --label 0 --loss svm --classes cat,car,frog

  linclass explain --scores 3.2,5.1,-1.7 --label 0 --loss softmax --classes cat,car,frog

  linclass explain --model runs/run-001/model.safetensors --image shoe.png --label 7

The lecture's other examples and questions:

  linclass explain --slide kl                  (KL = cross-entropy - entropy)

  linclass explain --slide svm-questions       (or softmax-questions)

  linclass explain --slide numerical-gradient --loss svm --h 0.0001 --fd-method forward

  linclass explain --slide kink                (finite differences at an SVM kink)
"""


def _num(v: float) -> str:
    """A number as the slides print it: 2.9, 0, 24.5, 164.0, 0.18."""
    if v == 0:
        return "0"
    if abs(v) < 1:
        return f"{v:.2g}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def _print_svm(out: dict[str, Any], console: Console) -> None:
    names, s, y = out["class_names"], out["scores"], out["label"]
    margin = out["margin"]
    console.print("scores:  " + ",  ".join(f"{n} {_num(v)}" for n, v in zip(names, s, strict=True)))
    console.print(f"correct class {names[y]}: s_y = {_num(s[y])}")
    console.print(f"L_i = sum over j != y of max(0, s_j - s_y + {margin:g})")
    width = max(len(t["name"]) for t in out["terms"])
    for t in out["terms"]:
        sj = s[t["class"]]
        console.print(f"  {t['name']:<{width}}  max(0, {_num(sj)} - {_num(s[y])} + {margin:g})"
                      f" = {_num(t['term'])}")
    parts = " + ".join(_num(t["term"]) for t in out["terms"])
    console.print(f"L_i = {parts} = [bold]{_num(out['total'])}[/]")


def _print_softmax(out: dict[str, Any], console: Console) -> None:
    # The slide's layout: one row per class, read left to right: scores are unnormalized
    # log probabilities -> exp -> unnormalized probabilities -> normalize -> probabilities.
    names, y = out["class_names"], out["label"]
    exp_label = "exp(s)" if out["shift"] == 0 else f"exp(s - {out['shift']:.2f})"
    table = Table(caption=f"sum of exp = {_num(out['sum_exp'])}", caption_justify="left")
    table.add_column("class")
    table.add_column("score s", justify="right")
    table.add_column(exp_label, justify="right")
    table.add_column("p = exp / sum", justify="right")
    table.add_column("")
    for k, name in enumerate(names):
        mark = "<- correct class y" if k == y else ""
        table.add_row(name, _num(out["scores"][k]), _num(out["exp"][k]),
                      f"{out['probabilities'][k]:.2f}", mark, style="bold" if k == y else None)
    console.print(table)
    p = out["correct_probability"]
    console.print(f"L_i = -log P({names[y]}) = -log({p:.2f}) = [bold]{out['neg_log_p']:.2f}[/]")


def _print_lines(out: dict[str, Any], console: Console) -> None:
    for line in out["lines"]:
        console.print(line, highlight=False)


def slide_output(slide: str, loss: str | None, margin: float, h: float,
                 fd_method: str) -> dict[str, Any]:
    """The numbers of one ``--slide``, from the library."""
    if slide == "kl":
        return kl_example()
    if slide == "svm-questions":
        return svm_questions(margin=margin)
    if slide == "softmax-questions":
        return softmax_questions()
    if slide == "kink":
        return kink_example(h=h, margin=margin)
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data[:WALKTHROUGH_ROWS] / 16.0, digits.target[:WALKTHROUGH_ROWS]
    params = init_params(X.shape[1], 10, scale=0.05, random_state=0)
    loss = loss or SVM.name
    out = numerical_walkthrough(params, X, y, loss=loss, h=h, method=fd_method)
    out["lines"].insert(0, f"{loss} loss of a random W (seed 0) on the first "
                           f"{WALKTHROUGH_ROWS} digits images, 8x8 pixels in [0, 1]")
    return out


def explain(
    scores: str | None = typer.Option(None, help="Class scores, comma-separated, e.g. "
                                      "3.2,5.1,-1.7."),
    label: int | None = typer.Option(None, min=0, help="Correct class index y (with "
                                     "--scores: required; with --model: default the "
                                     "predicted class)."),
    loss: Literal[EXPLAINED_LOSSES] | None = typer.Option(  # type: ignore[valid-type]
        None, help="Loss to explain (every loss of the records).",
        show_default=f"{DEFAULT_LOSS}, or the model's loss"),
    classes: str | None = typer.Option(None, help="Class names, comma-separated (with "
                                       "--scores)."),
    margin: float = typer.Option(1.0, help="SVM margin (the lecture's 1)."),
    model_file: Path | None = typer.Option(None, "--model", help="A model file; with "
                                           "--image, explains the model's scores."),
    image: Path | None = typer.Option(None, help="An image file for --model."),
    as_json: bool = typer.Option(False, "--json", help="Print the steps as JSON."),
    slide: Literal[SLIDES] | None = typer.Option(  # type: ignore[valid-type]
        None, help="Another of the lecture's examples: kl, svm-questions, "
        "softmax-questions, numerical-gradient or kink."),
    h: float = typer.Option(SLIDE_H,
                            help="Finite-difference step (numerical-gradient, kink)."),
    fd_method: Literal["forward", "centered"] = typer.Option(
        SLIDE_METHOD, help="Finite-difference formula (numerical-gradient)."),
) -> None:
    """Explain the loss of one example step by step, like the lecture's slides.

    Give either a score vector and a label (--scores, --label), or a model and an image
    (--model, --image), or one of the lecture's other examples (--slide).
    """
    if slide is not None:
        if scores is not None or model_file is not None:
            raise typer.BadParameter("--slide takes no --scores or --model",
                                     param_hint="--slide")
        with cli_errors():
            out = slide_output(slide, loss, margin, h, fd_method)
        if as_json:
            typer.echo(json.dumps(common.json_safe(out), indent=2))
        else:
            _print_lines(out, Console(highlight=False))
        return
    if (scores is None) == (model_file is None):
        raise typer.BadParameter("give either --scores (with --label) or --model with --image")
    console = Console(highlight=False)
    with cli_errors():
        if scores is not None:
            if image is not None:
                raise typer.BadParameter("--image needs --model, not --scores",
                                         param_hint="--image")
            if label is None:
                raise typer.BadParameter("--scores needs --label", param_hint="--label")
            s = np.array(common.parse_floats(scores, "--scores"))
            names = None if classes is None else [c.strip() for c in classes.split(",")]
            if names is not None and len(names) != len(s):
                raise typer.BadParameter(f"{len(names)} names for {len(s)} scores",
                                         param_hint="--classes")
            if label >= len(s):
                raise typer.BadParameter(f"must be below {len(s)}, the number of scores",
                                         param_hint="--label")
            out = explain_scores(s, label, loss or DEFAULT_LOSS, names, margin)
            header = None
        else:
            if image is None:
                raise typer.BadParameter("--model needs --image", param_hint="--image")
            assert model_file is not None  # checked above: --scores or else --model
            from linclass.cli.predict import image_files, load_images

            model = common.load_model(model_file)
            names = common.class_names_of(model)
            features = model.transform(load_images(model, image_files([image]))[0])
            s = common.all_scores(model, features)[0]
            predicted = int(np.argmax(s))
            if label is not None and label >= len(names):
                raise typer.BadParameter(f"must be below {len(names)}, the model's classes",
                                         param_hint="--label")
            y = predicted if label is None else label
            model_loss = model.classifier_.loss
            out = explain_scores(s, y, loss or model_loss, names,
                                  resolved("margin", model.classifier_.margin))
            out["image"], out["predicted_name"] = str(image), names[predicted]
            header = (f"{image}: predicted [bold]{names[predicted]}[/]; loss computed for "
                      f"{'the given' if label is not None else 'the predicted'} label "
                      f"[bold]{names[y]}[/] ({loss or model_loss} loss)")
    if as_json:
        typer.echo(json.dumps(common.json_safe(out), indent=2))
        return
    if header:
        console.print(header)
    _PRINTERS.get(out["loss"], _print_lines)(out, console)


#: The slide's own layout of a loss, by the record's name; any other loss prints its lines.
_PRINTERS = {SVM.name: _print_svm, SOFTMAX.name: _print_softmax}
