"""Deployment: a fitted model as an ONNX graph, for onnxruntime and other runtimes.

* :mod:`linclass.export.graph`: the nodes of a linear model (scores ``X W^T + b``, the
  label ``argmax``, softmax probabilities, the raw-pixel preprocessing), written against
  a small sink so that the standalone export and the skl2onnx converter share them.
* :mod:`linclass.export.models`: an estimator to an ``onnx.ModelProto`` (``to_onnx``) and
  to a file, written atomically.
* :mod:`linclass.export.sklearn`: ``register_skl2onnx()``, so ``skl2onnx.to_onnx`` converts
  a scikit-learn ``Pipeline`` holding a ``LinearClassifier`` or ``LinearRegressor``.

Nothing here is imported by ``import linclass``: ``onnx`` (``pip install linclass[onnx]``)
is loaded only by an export. Model files stay safetensors; an ONNX file is an extra for
deployment and is never loaded back.
"""
