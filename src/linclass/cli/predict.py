"""``linclass predict``: the class of image files, with the top-k probabilities or scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from linclass.cli import common
from linclass.cli.common import cli_errors
from linclass.data import DataError
from linclass.data.folder import ColorMode, read_images
from linclass.data.image_file import is_image_file
from linclass.estimators.image import ImageClassifier
from linclass.losses import softmax
from linclass.options import choice

EPILOG = """\
Examples:

  linclass predict --model runs/run-001/model.safetensors shoe.png

  linclass predict --model runs/run-001/model.safetensors photos/ --top-k 5 --json

Each image is converted to the model's colour mode (grey for a model trained on grey
images, RGB otherwise; transparency over black) and resized to the model's image size
(bilinear, aspect ratio not kept), so it must look like the training images did: e.g.
a light object on a black background for MNIST, digits and Fashion-MNIST.
"""


def image_files(paths: list[Path]) -> list[Path]:
    """The given files, and the image files inside given folders (any format Pillow
    reads, by suffix; sorted, recursive, hidden files skipped)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p)
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise DataError(path, "folder holds no image files (PNG, JPEG, BMP, TIFF, "
                                "GIF, WebP, PPM, ...: any format Pillow reads)")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(path, "no such file or folder")
    return files


def load_images(model: ImageClassifier, files: list[Path], *, skip_bad: bool = False
                ) -> tuple[np.ndarray, list[Path]]:
    """Read image files in the model's input shape and colour mode (uint8); with
    ``skip_bad``, unreadable ones are left out (one warning line). Returns the images and
    the files they came from."""
    shape = model.image_shape
    mode: ColorMode = "rgb" if len(shape) == 3 else "gray"
    from linclass.cli.options import in_cli_words

    try:
        with common.warnings_as_lines(quiet=False):  # the skipped files, before the results
            return read_images(files, image_size=(shape[0], shape[1]), color_mode=mode,
                               on_error="skip" if skip_bad else "raise")
    except DataError as e:  # in the CLI's words: --skip-bad, not on_error="skip"
        raise DataError(e.path, in_cli_words(e.problem)) from None


def predict(
    paths: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, BMP, TIFF, GIF, "
                                       "WebP, ...) or folders of them."),
    model_file: Path = typer.Option(..., "--model", help="A model file written by train or "
                                    "search."),
    top_k: int = typer.Option(3, "--top-k", min=1, help="How many classes to list per image."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object for all images)."),
    skip_bad: bool = common.SKIP_BAD_OPTION,
) -> None:
    """Predict the class of images with a saved model.

    Softmax models list their top-k probabilities P(class | image); SVM and one-vs-all
    models have no probabilities and list their top-k scores s = Wx + b instead.
    """
    with cli_errors():
        model = common.load_model(model_file)
        files = image_files(paths)
        images, files = load_images(model, files, skip_bad=skip_bad)
        S = common.all_scores(model, model.transform(images))
        names = common.class_names_of(model)
    probabilistic = choice("loss", model.classifier_.loss).has("probabilities")
    values = softmax(S) if probabilistic else S
    kind, kinds = ("probability", "probabilities") if probabilistic else ("score", "scores")
    k = min(top_k, S.shape[1])
    results = []
    for path, row in zip(files, values, strict=True):
        order = np.argsort(-row, kind="stable")[:k]
        results.append({"file": str(path), "class": names[order[0]],
                        "top": [{"class": names[j], kind: float(row[j])} for j in order]})
    if as_json:
        typer.echo(json.dumps({"model": str(model_file), "kind": kind, "predictions": results},
                              indent=2))
        return
    width = max(len(r["file"]) for r in results)
    for r in results:
        top = "  ".join(f"{t['class']} {_fmt(t[kind], probabilistic)}" for t in r["top"])
        typer.echo(f"{r['file']:<{width}}  {r['class']:<12}  {kinds}: {top}")


def _fmt(value: float, probabilistic: bool) -> str:
    return f"{100 * value:.1f}%" if probabilistic else f"{value:+.3f}"
