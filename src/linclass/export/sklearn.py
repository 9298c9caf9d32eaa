"""skl2onnx converters for ``LinearClassifier`` and ``LinearRegressor``, so that a
scikit-learn ``Pipeline`` holding one converts as a whole::

    from linclass.export.sklearn import register_skl2onnx
    register_skl2onnx()
    onx = skl2onnx.to_onnx(make_pipeline(StandardScaler(), LinearClassifier()).fit(X, y),
                           X[:1].astype(np.float32))

Registration is explicit (nothing registers at ``import linclass``) and cheap to repeat.
The graphs follow skl2onnx's conventions for classifiers: outputs ``label`` and
``probabilities`` (softmax of the scores for a loss with probabilities; the scores
themselves for the hinge losses, as skl2onnx does for ``LinearSVC``, or with the option
``raw_scores=True``), which skl2onnx turns into a list of ``{label: value}`` dicts unless
``options={"zipmap": False}``; ``nocl=True`` gives class indices instead of labels.
Regressors output ``variable``, (N, 1). The nodes are :mod:`linclass.export.graph`'s,
the same as :meth:`LinearClassifier.to_onnx`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linclass.export import graph as g
from linclass.options import choice

#: The aliases skl2onnx knows the converters by.
CLASSIFIER_ALIAS = "LinclassLinearClassifier"
REGRESSOR_ALIAS = "LinclassLinearRegressor"


class _ContainerSink:
    """A :class:`~linclass.export.graph.Sink` adding to skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx import TensorProto, helper

        value = np.asarray(value)
        name = self.scope.get_unique_variable_name(hint)
        elem = (TensorProto.STRING if value.dtype == object
                else helper.np_dtype_to_tensor_dtype(value.dtype))
        self.container.add_initializer(name, elem, list(value.shape), value.ravel().tolist())
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str, *, out: str | None = None,
             **attrs: Any) -> str:
        name = out if out is not None else self.scope.get_unique_variable_name(hint)
        self.container.add_node(op_type, list(inputs), [name],
                                name=self.scope.get_unique_operator_name(op_type), **attrs)
        return name


def _float_input(sink: _ContainerSink, operator: Any) -> tuple[str, type]:
    """The operator's input as float32 or float64 rows (double stays double, as
    skl2onnx's own linear models compute), and that NumPy type."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    variable = operator.inputs[0]
    if isinstance(variable.type, DoubleTensorType):
        return variable.full_name, np.float64
    if isinstance(variable.type, FloatTensorType):
        return variable.full_name, np.float32
    cast = sink.node("Cast", [variable.full_name], "rows_float", to=TensorProto.FLOAT)
    return cast, np.float32


def _check_opset(container: Any) -> None:
    opset = container.target_opset
    if opset is not None and opset < 13:
        raise ValueError(f"linclass's converters need target_opset >= 13 (Softmax over one "
                         f"axis), got {opset}")


def convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter: ``label`` and ``probabilities`` of a fitted LinearClassifier."""
    from skl2onnx.common.utils_classifier import get_label_classes

    _check_opset(container)
    clf = operator.raw_operator
    options = container.get_options(clf, dict(raw_scores=False))
    sink = _ContainerSink(scope, container)
    rows, dtype = _float_input(sink, operator)
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    probabilistic = choice("loss", clf.loss).has("probabilities") and not options["raw_scores"]
    S = g.linear_scores(sink, rows, clf.coef_.astype(dtype), clf.intercept_.astype(dtype),
                        out=None if probabilistic else probabilities)
    classes = g.label_values(np.asarray(get_label_classes(scope, clf)))
    g.class_labels(sink, S, classes, out=label)
    if probabilistic:
        g.probabilities(sink, S, out=probabilities)


def convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter: ``variable = X w + b``, (N, 1), of a fitted LinearRegressor."""
    sink = _ContainerSink(scope, container)
    rows, dtype = _float_input(sink, operator)
    reg = operator.raw_operator
    g.linear_scores(sink, rows, reg.coef_[None, :].astype(dtype),
                    np.array([reg.intercept_], dtype), out=operator.outputs[0].full_name)


def register_skl2onnx() -> None:
    """Register the converters of ``LinearClassifier`` and ``LinearRegressor`` with
    skl2onnx (again: the same registration), so that ``skl2onnx.to_onnx`` converts
    pipelines holding them.

    Raises:
        ImportError: skl2onnx is not installed (``pip install 'linclass[onnx]'``).
    """
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:
        raise ImportError("the skl2onnx converters need skl2onnx: pip install "
                          "'linclass[onnx]'") from None
    from linclass.estimators.classifier import LinearClassifier
    from linclass.estimators.regressor import LinearRegressor

    update_registered_converter(
        LinearClassifier, CLASSIFIER_ALIAS, calculate_linear_classifier_output_shapes,
        convert_classifier, overwrite=True,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False],
                 "raw_scores": [True, False]})
    update_registered_converter(
        LinearRegressor, REGRESSOR_ALIAS, calculate_linear_regressor_output_shapes,
        convert_regressor, overwrite=True)


__all__ = ["CLASSIFIER_ALIAS", "REGRESSOR_ALIAS", "convert_classifier", "convert_regressor",
           "register_skl2onnx"]
