"""``LinearClassifier``: a scikit-learn estimator over linclass's own losses and optimizers.

The estimator is a thin face: it validates data the scikit-learn way, maps labels to
``0..C-1``, and hands the pure functions (:mod:`linclass.objective`, :mod:`linclass.grad`,
:mod:`linclass.optim`) to the one fit loop in :mod:`linclass.train`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from linclass import train as _train
from linclass.grad import GRADIENT_METHODS, make_value_and_grad
from linclass.losses import LOSSES, log_softmax, softmax
from linclass.model import init_params, scores
from linclass.objective import objective_value
from linclass.optim import OPTIMIZERS, SCHEDULES
from linclass.persist import ModelFileError, load_model, save_model
from linclass.regularizers import PENALTIES


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Linear classifier ``f(x) = W x + b`` trained by empirical risk minimization.

    Defaults are tuned for real images with features in [0, 1]: on Fashion-MNIST raw
    pixels they reach 0.843 test accuracy (softmax and SVM alike) in 10 epochs. Small
    datasets need more steps than 10 epochs of 256-row batches give: on the 1,347 digits,
    ``batch_size=32, max_epochs=50`` reaches 0.95-0.96.

    Args:
        loss: ``"softmax"`` (cross-entropy), ``"svm"`` (multiclass hinge), ``"ova_hinge"``
            or ``"ova_logistic"`` (one-vs-all).
        penalty: ``"l2"``, ``"l1"``, ``"elasticnet"`` or ``"none"``; the bias is never penalised.
        alpha: Regularization strength.
        l1_ratio: Elastic-net mix.
        margin: SVM margin (``"svm"`` and ``"ova_hinge"`` only).
        optimizer: ``"gd"``, ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"random_search"``,
            ``"random_local_search"`` or ``"genetic"``.
        gradient: ``"analytic"``, ``"numerical"`` or ``"autodiff"``.
        learning_rate: Initial step size.
        schedule: ``"constant"``, ``"step"``, ``"exponential"``, ``"inverse_time"`` or
            ``"cosine"``.
        batch_size: Mini-batch size (ignored by ``"gd"``, which uses all rows).
        max_epochs: Passes over the data.
        early_stopping: Hold out ``validation_fraction`` of the training rows and stop when
            the validation loss has not improved for ``patience`` epochs, keeping the best.
        validation_fraction: Size of that hold-out.
        patience: Epochs without improvement before stopping.
        tol: Stop when the training loss has improved by less than this for ``patience``
            epochs (None: always run ``max_epochs``).
        random_state: Seed for initialization, shuffling and splits.
        verbose: Show a progress bar.

    Attributes:
        coef_: ndarray of shape (n_classes, n_features), the rows of W (class templates).
        intercept_: ndarray of shape (n_classes,), b.
        classes_: ndarray of shape (n_classes,), the labels in sorted order.
        n_features_in_: Number of features seen in fit.
        n_iter_: Epochs run.
        history_: Training history (loss per step, accuracies per epoch, ...).
    """

    def __init__(
        self,
        *,
        loss: str = "softmax",
        penalty: str = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.5,
        margin: float = 1.0,
        optimizer: str = "momentum",
        gradient: str = "analytic",
        learning_rate: float = 0.1,
        schedule: str = "cosine",
        batch_size: int = 256,
        max_epochs: int = 10,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 5,
        tol: float | None = None,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.margin = margin
        self.optimizer = optimizer
        self.gradient = gradient
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # --- fitting ----------------------------------------------------------------------

    def objective_params(self) -> dict[str, Any]:
        """Loss, penalty and their arguments, as the objective and gradient functions take them."""
        loss_kwargs = {"margin": self.margin} if self.loss in MARGIN_LOSSES else {}
        return dict(loss=self.loss, penalty=self.penalty, alpha=self.alpha,
                    l1_ratio=self.l1_ratio, **loss_kwargs)

    def _check_hyperparameters(self) -> None:
        choices = {"loss": LOSSES, "penalty": PENALTIES, "optimizer": OPTIMIZERS,
                   "gradient": GRADIENT_METHODS, "schedule": SCHEDULES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not one of {sorted(allowed)}"
                )
        positive = {"learning_rate": self.learning_rate, "batch_size": self.batch_size,
                    "max_epochs": self.max_epochs, "patience": self.patience,
                    "margin": self.margin}
        for name, value in positive.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be >= 0, got {self.alpha!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {self.validation_fraction!r}")

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        # float32 stays float32 (half the memory traffic); everything else becomes float64.
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "LinearClassifier needs samples of at least 2 classes in the data; "
                f"got 1 class: {self.classes_[0]!r}"
            )
        return y_enc.astype(np.int64)

    def _fit_arguments(self) -> dict[str, Any]:
        """What :func:`linclass.train.fit` and :func:`~linclass.train.partial_fit` share."""
        objective = self.objective_params()
        return dict(
            value_and_grad=make_value_and_grad(self.gradient, **objective),
            value=functools.partial(objective_value, **objective),
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
        )

    def fit(self, X: Any, y: Any, *, validation_data: tuple[Any, Any] | None = None
            ) -> LinearClassifier:
        """Fit W and b on ``(X, y)``.

        Args:
            X: array-like of shape (n_samples, n_features).
            y: array-like of shape (n_samples,), any label type (strings, negative ints, ...).
            validation_data: Optional ``(X_val, y_val)`` held out by the caller: its loss
                and accuracy are recorded every epoch in ``history_``, and early stopping
                monitors it instead of carving ``validation_fraction`` out of ``X``.

        Returns:
            self.
        """
        self._check_hyperparameters()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        y_enc = self._encode_targets(y)
        X_val, y_val = None, None
        if validation_data is not None:
            X_val = self._validate_X(validation_data[0], reset=False)
            y_val = self._encode_validation_labels(validation_data[1])
        return self._fit_encoded(X, y_enc, X_val, y_val, n_features=X.shape[1], dtype=X.dtype)

    def fit_transformed(
        self,
        X_raw: np.ndarray,
        y: Any,
        *,
        transform: Callable[..., np.ndarray],
        n_features: int,
        validation_data: tuple[np.ndarray, Any] | None = None,
    ) -> LinearClassifier:
        """Fit on rows that ``transform`` turns into features one mini-batch at a time.

        For images kept as uint8: the fit loop gathers a batch of raw rows and converts
        only that batch (``transform(rows, out=buffer)``), so a float copy of the whole
        training set never exists. :meth:`predict` and friends then take feature rows,
        i.e. ``transform(X_raw)``; :class:`~linclass.image_classifier.ImageClassifier`
        wraps both sides.

        Args:
            X_raw: ndarray of shape (n_samples, ...) that ``transform`` accepts.
            y: array-like of shape (n_samples,).
            transform: ``transform(rows[, out=]) -> float32 ndarray (n_rows, n_features)``.
            n_features: Width of the transformed rows.
            validation_data: Optional ``(X_raw_val, y_val)``, transformed the same way.

        Returns:
            self.
        """
        self._check_hyperparameters()
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != len(X_raw):
            raise ValueError(f"y must have shape ({len(X_raw)},), got {y.shape}")
        y_enc = self._encode_targets(y)
        self.n_features_in_ = int(n_features)
        X_val, y_val = None, None
        if validation_data is not None:
            X_val, y_val = validation_data[0], self._encode_validation_labels(validation_data[1])
        return self._fit_encoded(X_raw, y_enc, X_val, y_val, n_features=int(n_features),
                                 dtype=np.dtype(np.float32), transform=transform)

    def _encode_validation_labels(self, y_val: Any) -> np.ndarray:
        y_val = np.asarray(y_val)
        unknown = np.setdiff1d(y_val, self.classes_)
        if unknown.size:
            raise ValueError(f"validation labels {unknown.tolist()} are not in the "
                             f"training labels {self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y_val).astype(np.int64)

    def _fit_encoded(self, X, y_enc, X_val, y_val, *, n_features: int, dtype: np.dtype,
                     transform: Callable[..., np.ndarray] | None = None) -> LinearClassifier:
        """The part of fitting shared by :meth:`fit` and :meth:`fit_transformed`."""
        rng = np.random.default_rng(self.random_state)
        if X_val is None and self.early_stopping:
            X, X_val, y_enc, y_val = train_test_split(
                X, y_enc, test_size=self.validation_fraction, stratify=y_enc,
                random_state=int(rng.integers(2**31)),
            )
        params = init_params(n_features, len(self.classes_), random_state=rng, dtype=dtype)
        result = _train.fit(
            params, X, y_enc, **self._fit_arguments(),
            schedule=self.schedule, batch_size=self.batch_size, max_epochs=self.max_epochs,
            X_val=X_val, y_val=y_val, early_stopping=self.early_stopping,
            patience=self.patience, tol=self.tol, random_state=rng,
            progress=bool(self.verbose), transform=transform,
        )
        self._set_params(result.params)
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self._optimizer_state = result.state
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> LinearClassifier:
        """One pass of the optimizer over a batch that has just arrived.

        Args:
            X: array-like of shape (n_samples, n_features).
            y: array-like of shape (n_samples,).
            classes: All labels that will ever appear; required on the first call.

        Returns:
            self.
        """
        first = not hasattr(self, "classes_")
        self._check_hyperparameters()
        X, y = validate_data(self, X, y, reset=first, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._encode_targets(np.asarray(classes))
            rng = np.random.default_rng(self.random_state)
            self._set_params(init_params(X.shape[1], len(self.classes_), random_state=rng,
                                         dtype=X.dtype))
            self._optimizer_state, self.n_iter_ = None, 0
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"labels {unknown.tolist()} are not in classes_ {self.classes_.tolist()}")
        y_enc = np.searchsorted(self.classes_, y).astype(np.int64)
        result = _train.partial_fit(
            self._params(), X, y_enc, **self._fit_arguments(), state=self._optimizer_state,
            batch_size=self.batch_size, random_state=self.random_state,
        )
        self._set_params(result.params)
        self._optimizer_state = result.state
        self.n_iter_ += 1
        return self

    def _params(self) -> dict[str, np.ndarray]:
        return {"W": self.coef_, "b": self.intercept_}

    def _set_params(self, params: dict[str, np.ndarray]) -> None:
        self.coef_, self.intercept_ = params["W"], params["b"]

    # --- prediction -------------------------------------------------------------------

    def decision_function(self, X: Any) -> np.ndarray:
        """Class scores ``S = X W^T + b``.

        Returns:
            ndarray of shape (n_samples, n_classes); for two classes, shape (n_samples,)
            holding ``s_1 - s_0`` (positive means ``classes_[1]``), as scikit-learn expects.
        """
        check_is_fitted(self)
        S = scores(self._params(), self._validate_X(X, reset=False))
        return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S

    def predict(self, X: Any) -> np.ndarray:
        """The label with the largest score (``argmax_k s_k``), in the type of ``classes_``."""
        check_is_fitted(self)
        S = scores(self._params(), self._validate_X(X, reset=False))
        return self.classes_[np.argmax(S, axis=1)]

    def _has_probabilities(self) -> bool:
        return self.loss == "softmax"

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax probabilities ``P(Y=k|x) = exp(s_k) / sum_j exp(s_j)``.

        Only for ``loss="softmax"``: hinge losses give scores with no probabilistic meaning,
        so for them this method does not exist (``hasattr(clf, "predict_proba")`` is False)
        and :meth:`decision_function` is the honest output.

        Returns:
            ndarray of shape (n_samples, n_classes); rows sum to 1.
        """
        check_is_fitted(self)
        return softmax(scores(self._params(), self._validate_X(X, reset=False)))

    @available_if(_has_probabilities)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log P(Y=k|x)``, computed stably (softmax loss only)."""
        check_is_fitted(self)
        return log_softmax(scores(self._params(), self._validate_X(X, reset=False)))

    # --- files ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, *, force: bool = False,
             extra_meta: dict[str, Any] | None = None,
             arrays: dict[str, np.ndarray] | None = None) -> Path:
        """Write W, b and everything needed to rebuild this estimator to a safetensors file.

        Args:
            path: Destination file.
            force: Overwrite an existing file.
            extra_meta: More JSON metadata (e.g. the feature pipeline spec).
            arrays: More tensors (e.g. the fitted preprocessing statistics).

        Returns:
            The path written (atomically; never a pickle).
        """
        check_is_fitted(self)
        meta = {
            "estimator": "LinearClassifier",
            "hyperparameters": self.get_params(),
            "classes": encode_classes(self.classes_),
            "n_features_in": int(self.n_features_in_),
            "n_iter": int(getattr(self, "n_iter_", 0)),
            **(extra_meta or {}),
        }
        return save_model(path, self._params(), meta, arrays=arrays, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearClassifier:
        """Rebuild a fitted estimator from :meth:`save`'s file (verified; see
        :func:`linclass.persist.load_model`)."""
        clf, _, _ = cls.load_with_meta(path)
        return clf

    @classmethod
    def load_with_meta(
        cls, path: str | os.PathLike
    ) -> tuple[LinearClassifier, dict[str, Any], dict[str, np.ndarray]]:
        """Like :meth:`load`, also returning the metadata and the extra arrays."""
        params, meta, arrays = load_model(path)
        if meta.get("estimator") != "LinearClassifier":
            raise ModelFileError(f"{path}: not a LinearClassifier model file")
        try:
            clf = cls(**meta["hyperparameters"])
            clf._check_hyperparameters()  # the file's values, held to fit's rules
            clf.classes_ = decode_classes(meta["classes"])
            clf.n_features_in_ = int(meta["n_features_in"])
            clf.n_iter_ = int(meta.get("n_iter", 0))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: bad metadata ({e})") from None
        if params["W"].shape != (len(clf.classes_), clf.n_features_in_):
            raise ModelFileError(
                f"{path}: W has shape {params['W'].shape} but the metadata says "
                f"{len(clf.classes_)} classes and {clf.n_features_in_} features"
            )
        clf._set_params(params)
        clf._optimizer_state = None
        return clf, meta, arrays


MARGIN_LOSSES = ("svm", "ova_hinge")


def encode_classes(classes: np.ndarray) -> dict[str, Any]:
    """Labels as JSON: their values and their kind, so that they round-trip exactly."""
    kind = classes.dtype.kind
    if kind in "iu":
        return {"kind": "int", "values": [int(c) for c in classes]}
    if kind == "b":
        return {"kind": "bool", "values": [bool(c) for c in classes]}
    if kind == "f":
        return {"kind": "float", "values": [float(c) for c in classes]}
    if kind in "UO" and all(isinstance(c, str) for c in classes):
        return {"kind": "str", "object": kind == "O", "values": [str(c) for c in classes]}
    raise ValueError(f"cannot store labels of dtype {classes.dtype} in a model file")


def decode_classes(spec: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_classes`."""
    kind, values = spec["kind"], spec["values"]
    if kind == "str":
        return np.array(values, dtype=object if spec.get("object") else str)
    dtype = {"int": np.int64, "bool": bool, "float": np.float64}[kind]
    return np.array(values, dtype=dtype)
