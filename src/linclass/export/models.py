"""Fitted estimators as ONNX models, and ONNX files written atomically.

The graphs, their names and shapes (``N``: any number of rows)::

    LinearClassifier   input  float32 (N, D)
                       scores float32 (N, C)        S = X W^T + b
                       label  (N,)                  classes_[argmax_k s_k]
                       probabilities float32 (N, C) softmax(S) (losses that have them)
    ImageClassifier    input  uint8 (N, H, W) or (N, H, W, 3): the images as
                              ``predict`` takes them; the scaling to [0, 1] and the
                              training mean (and spread) are in the graph
                       scores, label, probabilities as above
    LinearRegressor    input  float32 (N, D)
                       prediction float32 (N,)      w . x + b

``label`` has the type of ``classes_``: int64 for integer labels, string for strings
(bool and float64 labels too). For two classes, ``scores`` keeps both columns (the
lecture's scores), while ``decision_function`` returns ``s_1 - s_0``. The scores are
``W x + b`` in the user's coordinates: a fit's internal standardization (``scaling``) is
already folded into ``coef_`` and ``intercept_``.

Only raw pixels are plain array operations; HOG and histogram features are refused
(:class:`UnsupportedModelError`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from linclass.export import graph as g
from linclass.losses.records import REGRESSION_LOSS
from linclass.options import choice

if TYPE_CHECKING:
    import onnx

#: The graph's input and output names, which a deployer feeds and fetches.
INPUT, SCORES, LABEL, PROBABILITIES, PREDICTION = (
    "input", "scores", "label", "probabilities", "prediction")
#: What an ImageClassifier's graph takes: uint8 images (0..255), or float32 in [0, 1].
PIXEL_TYPES = ("uint8", "float32")


class UnsupportedModelError(ValueError):
    """A model whose computation ONNX export cannot express (HOG or histogram features)."""


def require_onnx() -> Any:
    """The ``onnx`` package, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install "
                          "'linclass[onnx]'") from None
    return onnx


def _float32(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _has_probabilities(loss: str) -> bool:
    return choice("loss", loss).has("probabilities")


def classifier_outputs(sink: g.Sink, rows: str, clf: Any) -> list[str]:
    """The scores, label and (for a loss with probabilities) probabilities of a fitted
    :class:`~linclass.estimators.classifier.LinearClassifier` on ``rows``."""
    S = g.linear_scores(sink, rows, _float32(clf.coef_), _float32(clf.intercept_), out=SCORES)
    outputs = [S, g.class_labels(sink, S, g.label_values(clf.classes_), out=LABEL)]
    if _has_probabilities(clf.loss):
        outputs.append(g.probabilities(sink, S, out=PROBABILITIES))
    return outputs


def classifier_onnx(clf: Any) -> onnx.ModelProto:
    """A fitted ``LinearClassifier`` as an ONNX model (module docstring for the names).

    Raises:
        NotFittedError: Before ``fit``.
    """
    check_is_fitted(clf)
    onnx = require_onnx()
    n_classes, n_features = clf.coef_.shape
    sink = g.GraphBuilder([INPUT, SCORES, LABEL, PROBABILITIES])
    outputs = classifier_outputs(sink, INPUT, clf)
    inputs = [onnx.helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT,
                                                 ["N", n_features])]
    return _model(sink, inputs, _class_outputs(outputs, clf.classes_, n_classes),
                  _description(clf, f"float32 rows (N, {n_features})"))


def image_classifier_onnx(model: Any, pixels: str = "uint8") -> onnx.ModelProto:
    """A fitted ``ImageClassifier`` on raw pixels as an ONNX model, its preprocessing in
    the graph.

    Args:
        model: The fitted image classifier.
        pixels: ``"uint8"``: the graph takes images of 0..255, as ``predict`` does;
            ``"float32"``: images already scaled to [0, 1] (not checked by the graph).

    Raises:
        UnsupportedModelError: Features other than raw pixels (HOG, histograms).
        ValueError: An unknown ``pixels``.
    """
    check_is_fitted(model, ("features_", "classifier_"))
    if pixels not in PIXEL_TYPES:
        raise ValueError(f"pixels must be one of {PIXEL_TYPES}, got {pixels!r}")
    features, clf = model.features_, model.classifier_
    if not features.is_cheap:
        kinds = features.extractor.kinds
        named = "+".join([kinds] if isinstance(kinds, str) else kinds)
        raise UnsupportedModelError(
            f"cannot export {named} features to ONNX: only raw pixels (with mean "
            "subtraction or standardization) are plain array operations, HOG and "
            "histograms are not; train on raw pixels (--features raw, "
            "FeatureExtractor(kinds=('raw',))), with --standardize if wanted")
    onnx = require_onnx()
    shape = tuple(int(s) for s in model.image_shape)
    sink = g.GraphBuilder([INPUT, SCORES, LABEL, PROBABILITIES])
    rows = g.pixel_rows(sink, INPUT, mean=features.preprocessor.mean_,
                        scale=features.preprocessor.scale_, unit_scale=pixels == "uint8")
    outputs = classifier_outputs(sink, rows, clf)
    elem = onnx.TensorProto.UINT8 if pixels == "uint8" else onnx.TensorProto.FLOAT
    inputs = [onnx.helper.make_tensor_value_info(INPUT, elem, ["N", *shape])]
    values = "0..255" if pixels == "uint8" else "in [0, 1]"
    extra = {"class_names": model.class_names, "image_shape": list(shape),
             "preprocessor": features.preprocessor.get_params()}
    return _model(sink, inputs, _class_outputs(outputs, clf.classes_, len(clf.classes_)),
                  _description(clf, f"{pixels} images (N, {', '.join(map(str, shape))}), "
                                    f"values {values}", estimator_name="ImageClassifier",
                               **extra))


def regressor_onnx(reg: Any) -> onnx.ModelProto:
    """A fitted ``LinearRegressor`` as an ONNX model: ``prediction = input w + b``."""
    check_is_fitted(reg)
    onnx = require_onnx()
    sink = g.GraphBuilder([INPUT, PREDICTION])
    g.linear_scores(sink, INPUT, _float32(reg.coef_), _float32(reg.intercept_),
                    out=PREDICTION)
    n_features = int(reg.coef_.shape[0])
    inputs = [onnx.helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT,
                                                 ["N", n_features])]
    outputs = [onnx.helper.make_tensor_value_info(PREDICTION, onnx.TensorProto.FLOAT, ["N"])]
    return _model(sink, inputs, outputs,
                  _description(reg, f"float32 rows (N, {n_features})", loss=REGRESSION_LOSS))


def _class_outputs(names: list[str], classes: np.ndarray, n_classes: int) -> list[Any]:
    from onnx import TensorProto, helper

    labels = g.label_values(classes)
    label_type = (TensorProto.STRING if labels.dtype == object
                  else helper.np_dtype_to_tensor_dtype(labels.dtype))
    types: dict[str, tuple[int, list[str | int]]] = {
        SCORES: (TensorProto.FLOAT, ["N", n_classes]), LABEL: (label_type, ["N"]),
        PROBABILITIES: (TensorProto.FLOAT, ["N", n_classes])}
    return [helper.make_tensor_value_info(name, *types[name]) for name in names]


def _description(estimator: Any, takes: str, *, estimator_name: str | None = None,
                 loss: str | None = None, **extra: Any) -> dict[str, str]:
    """The model's metadata: what it is, what it takes, its labels (JSON strings)."""
    name = estimator_name or type(estimator).__name__
    fields: dict[str, Any] = {"estimator": name, "input": takes,
                              "loss": loss or getattr(estimator, "loss", None)}
    if hasattr(estimator, "classes_"):
        fields["classes"] = g.label_values(estimator.classes_).tolist()
    fields.update(extra)
    return {f"linclass.{k}": json.dumps(v) if not isinstance(v, str) else v
            for k, v in fields.items() if v is not None}


def _model(sink: g.GraphBuilder, inputs: list[Any], outputs: list[Any],
           meta: dict[str, str]) -> onnx.ModelProto:
    """The checked model of ``sink``'s nodes."""
    import onnx
    from onnx import helper

    graph = helper.make_graph(sink.nodes, "linclass_" + meta["linclass.estimator"], inputs,
                              outputs, sink.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", g.OPSET)],
                              ir_version=g.IR_VERSION, producer_name="linclass",
                              producer_version=_version(),
                              doc_string=f"{meta['linclass.estimator']}: {meta['linclass.input']}"
                                         f" -> {', '.join(o.name for o in outputs)}")
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model, full_check=True)  # types and shapes infer as declared
    return model


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("linclass")
    except PackageNotFoundError:  # run from a source tree
        return "0+unknown"


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike | None, *,
              force: bool = False) -> onnx.ModelProto:
    """Write ``model`` to ``path`` atomically (nothing when ``path`` is None); return it.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
        FileNotFoundError: The folder of ``path`` does not exist.
    """
    if path is not None:
        from linclass.io.fileio import atomic_write_bytes

        atomic_write_bytes(Path(path), model.SerializeToString(), force=force)
    return model


__all__ = ["INPUT", "LABEL", "PIXEL_TYPES", "PREDICTION", "PROBABILITIES", "SCORES",
           "UnsupportedModelError", "classifier_onnx", "classifier_outputs",
           "image_classifier_onnx", "regressor_onnx", "require_onnx", "save_onnx"]
