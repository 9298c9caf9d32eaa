"""The ONNX nodes of a linear model, written once for the export and for skl2onnx.

Each function adds nodes to a :class:`Sink` and returns the name of what it computed::

    images (N, H, W[, 3]) -> Flatten -> Cast(float) -> Mul(1/255) -> Sub(mean) -> Div(scale)
    rows X (N, D)         -> MatMul(W^T) -> Add(b)          scores S = X W^T + b, (N, C)
    S                     -> ArgMax(axis=1) -> Gather(classes)   label, (N,)
    S                     -> Softmax(axis=1)                    probabilities, (N, C)

These are the operations the Python methods compute, in the same order and float type
(:func:`linclass.features.images.to_unit_float`, :class:`~linclass.features.Preprocessor`,
:func:`linclass.model.scores`), so a runtime's scores differ from ``decision_function``'s
by the summation order of the matrix product only. ``ArgMax`` takes the first of equal
scores, as ``np.argmax`` does. Only standard operators of the default domain, opset
:data:`OPSET`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

#: The operator set of every exported graph (Softmax over one axis needs 13 or later).
OPSET = 17
#: The ONNX IR version that goes with opset 17, so runtimes of that age read the file.
IR_VERSION = 8


class Sink(Protocol):
    """Where nodes go: a standalone graph (:class:`GraphBuilder`) or skl2onnx's container."""

    def constant(self, hint: str, value: np.ndarray) -> str:
        """Add ``value`` as an initializer; return its (unique) name."""
        ...

    def node(self, op_type: str, inputs: Sequence[str], hint: str, *, out: str | None = None,
             **attrs: Any) -> str:
        """Add one node with one output, named ``out`` or a unique name from ``hint``."""
        ...


class GraphBuilder:
    """A :class:`Sink` that collects nodes and initializers for ``onnx.helper.make_graph``.

    Attributes:
        nodes: The ``NodeProto`` list, in order.
        initializers: The ``TensorProto`` list.
    """

    def __init__(self, reserved: Sequence[str] = ()) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._taken = set(reserved)  # the graph's input and output names

    def _unique(self, hint: str) -> str:
        name, i = hint, 1
        while name in self._taken:
            i += 1
            name = f"{hint}_{i}"
        self._taken.add(name)
        return name

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self._unique(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], hint: str, *, out: str | None = None,
             **attrs: Any) -> str:
        from onnx import helper

        name = out if out is not None else self._unique(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [name],
                                           name=f"{op_type}_{name}", **attrs))
        return name


def label_values(classes: np.ndarray) -> np.ndarray:
    """The labels as an ONNX tensor holds them: int64, bool, float64 or strings (object).

    Args:
        classes: ndarray of shape (n_classes,), an estimator's ``classes_``.

    Raises:
        ValueError: Labels of another type (or unsigned ints past int64).
    """
    classes = np.asarray(classes)
    kind = classes.dtype.kind
    if kind in "iu":
        if kind == "u" and classes.size and int(classes.max()) > np.iinfo(np.int64).max:
            raise ValueError("labels above 2**63 - 1 do not fit ONNX's int64 labels")
        return classes.astype(np.int64)
    if kind == "b":
        return classes.astype(bool)
    if kind == "f":
        return classes.astype(np.float64)
    if kind in "UO" and all(isinstance(c, str) for c in classes):
        return classes.astype(object)
    raise ValueError(f"labels of dtype {classes.dtype} cannot be ONNX labels; use ints or "
                     "strings")


def pixel_rows(sink: Sink, images: str, *, mean: np.ndarray, scale: np.ndarray,
               unit_scale: bool) -> str:
    """The raw-pixel features ``x' = (x / 255 - mean) / scale`` of a batch of images.

    Args:
        sink: Where the nodes go.
        images: Name of the images, (N, H, W) or (N, H, W, 3), uint8 or float32.
        mean: float32 ndarray of shape (D,), the training mean (zeros: no node).
        scale: float32 ndarray of shape (D,), the training spread (ones: no node).
        unit_scale: Cast and divide by 255 (uint8 images); False for float32 images
            already in [0, 1].

    Returns:
        Name of the float32 rows, (N, D) with ``D = H * W [* 3]`` in C order (as
        :func:`linclass.features.raw_pixels`).
    """
    from onnx import TensorProto

    x = sink.node("Flatten", [images], "pixels", axis=1)
    if unit_scale:
        x = sink.node("Cast", [x], "pixels_float", to=TensorProto.FLOAT)
        # float32(1/255), the constant to_unit_float multiplies by
        x = sink.node("Mul", [x, sink.constant("inv_255", np.array(1.0 / 255.0, np.float32))],
                      "unit_pixels")
    if np.any(mean != 0):  # subtracting 0 changes nothing, in floats too
        x = sink.node("Sub", [x, sink.constant("mean", mean.astype(np.float32))], "centred")
    if np.any(scale != 1):
        x = sink.node("Div", [x, sink.constant("scale", scale.astype(np.float32))],
                      "standardized")
    return x


def linear_scores(sink: Sink, rows: str, coef: np.ndarray, intercept: np.ndarray, *,
                  out: str | None = None) -> str:
    """Scores ``S = X W^T + b``.

    Args:
        sink: Where the nodes go.
        rows: Name of X, (N, D).
        coef: W, ndarray of shape (C, D) (scores (N, C)) or (D,) (one output, (N,)).
        intercept: b, ndarray of shape (C,), or a scalar for a 1-D ``coef``.
        out: Name of the result (default: a fresh one).
    """
    product = sink.node("MatMul", [rows, sink.constant("coef_T", np.ascontiguousarray(coef.T))],
                        "product")
    return sink.node("Add", [product, sink.constant("intercept", np.asarray(intercept))],
                     "scores", out=out)


def class_labels(sink: Sink, scores: str, classes: np.ndarray, *,
                 out: str | None = None) -> str:
    """The label of the largest score, ``classes[argmax_k s_k]`` (the first of ties).

    Args:
        sink: Where the nodes go.
        scores: Name of S, (N, C).
        classes: ndarray of shape (C,), already :func:`label_values`.
        out: Name of the result, (N,).
    """
    index = sink.node("ArgMax", [scores], "label_index", axis=1, keepdims=0)
    return sink.node("Gather", [sink.constant("classes", classes), index], "label", axis=0,
                     out=out)


def probabilities(sink: Sink, scores: str, *, out: str | None = None) -> str:
    """Probabilities ``P(Y=k|x) = exp(s_k) / sum_j exp(s_j)`` over each row of ``scores``."""
    return sink.node("Softmax", [scores], "probabilities", axis=1, out=out)


__all__ = ["IR_VERSION", "OPSET", "GraphBuilder", "Sink", "class_labels", "label_values",
           "linear_scores", "pixel_rows", "probabilities"]
