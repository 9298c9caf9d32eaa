"""``linclass export``: a saved model as an ONNX file, for onnxruntime and other runtimes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from linclass.cli.common import cli_errors, fail

EPILOG = """\
Examples:

  linclass export runs/run-001/model.safetensors --onnx model.onnx

  linclass export runs/run-001/model.safetensors --onnx model.onnx --pixels float32 --force

An image model's graph takes uint8 images (N, H, W) or (N, H, W, 3) as 'input' (with
--pixels float32: floats in [0, 1]) and holds its scaling, mean and standardization; a
model of feature rows takes float32 (N, D). Classifiers output 'scores' (N, C), 'label'
(N,) and, for the softmax loss, 'probabilities' (N, C); regressors output 'prediction'
(N,). Raw-pixel models only: HOG and histogram features are refused. The model file is
not changed, and the ONNX file is never read back by linclass.
"""

#: What --pixels accepts (linclass.export.models.PIXEL_TYPES, kept here so that the
#: command's help imports no NumPy).
PIXELS = ("uint8", "float32")


def _pixels(value: str | None) -> str | None:
    if value is not None and value not in PIXELS:
        raise typer.BadParameter(f"{value!r}: choose one of {', '.join(PIXELS)}")
    return value


def load_saved(path: str | os.PathLike) -> Any:
    """The estimator a model file holds: an image classifier, a classifier of feature
    rows or a regressor (each loader verifies the file; nothing is unpickled).

    Raises:
        ModelFileError: A missing, damaged or foreign file, naming it.
    """
    from linclass.estimators.classifier import LinearClassifier
    from linclass.estimators.files import has_pipeline
    from linclass.estimators.image import ImageClassifier
    from linclass.estimators.regressor import LinearRegressor
    from linclass.io.persist import load_model

    _, meta, _ = load_model(path)
    if meta.get("estimator") == "LinearRegressor":
        return LinearRegressor.load(path)
    if has_pipeline(meta):
        return ImageClassifier.load(path)
    return LinearClassifier.load(path)  # refuses other estimators, naming the file's


def export(
    model: Path = typer.Argument(..., help="A model file written by train, search, regress "
                                 "or an estimator's save()."),
    onnx_file: Path = typer.Option(..., "--onnx", help="The ONNX file to write."),
    pixels: str | None = typer.Option(None, "--pixels", callback=_pixels,
                                      show_default="uint8",
                                      help="What an image model's graph takes: uint8 "
                                      "(0..255) or float32 (in [0, 1]) pixels."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --onnx file."),
) -> None:
    """Export a saved model to ONNX, for onnxruntime and other runtimes.

    The graph computes what the model's predict does, preprocessing included: its scores,
    label and (softmax) probabilities, or a regressor's prediction.
    """
    with cli_errors():
        from linclass.estimators.image import ImageClassifier
        from linclass.export.models import save_onnx
        from linclass.io.fileio import check_writable

        check_writable(onnx_file, force=force)  # before any work
        estimator = load_saved(model)
        image = isinstance(estimator, ImageClassifier)
        if pixels is not None and not image:
            raise ValueError(f"{model} is a model of feature rows, not images: "
                             "--pixels is for image models")
        try:
            proto = (estimator.to_onnx(pixels=pixels or "uint8") if image
                     else estimator.to_onnx())
        except ImportError as e:  # the onnx extra is not installed
            raise fail(str(e)) from None
        save_onnx(proto, onnx_file, force=force)
    typer.echo(f"wrote {onnx_file}: {signature(proto)}")


def signature(proto: Any) -> str:
    """``input uint8 (N, 8, 8) -> scores, label, probabilities`` of an ONNX model."""
    from onnx import helper

    value = proto.graph.input[0]
    tensor = value.type.tensor_type
    dims = ", ".join(d.dim_param or str(d.dim_value) for d in tensor.shape.dim)
    kind = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
    outputs = ", ".join(o.name for o in proto.graph.output)
    return f"{value.name} {kind} ({dims}) -> {outputs}"
