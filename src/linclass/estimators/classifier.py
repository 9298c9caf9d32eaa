"""``LinearClassifier``: a scikit-learn estimator over linclass's own losses and optimizers.

The estimator is a thin face: it validates data the scikit-learn way, maps labels to
``0..C-1``, and hands the pure functions (:mod:`linclass.objective`, :mod:`linclass.grad`,
:mod:`linclass.optim`) to the one fit loop in :mod:`linclass.training`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from linclass.backends.registry import resolve_backend
from linclass.estimators import fitting
from linclass.estimators.files import (
    decode_classes,
    encode_classes,
    load_estimator,
    refuse_pipeline,
    save_estimator,
)
from linclass.estimators.params import ESTIMATOR_PARAMS, constraints, warn_if_still_improving
from linclass.estimators.plan import check as check_plan
from linclass.estimators.plan import compute_dtype, make_plan
from linclass.estimators.weights import row_weights, warm_params, with_weights
from linclass.io.persist import ModelFileError
from linclass.losses import log_softmax, softmax
from linclass.model import init_params, scores
from linclass.options import PARAMS, choice
from linclass.sparsity import issparse
from linclass.training.arrays import float_rows, is_dask, is_out_of_core


class LinearClassifier(ClassifierMixin, BaseEstimator):
    """Linear classifier ``f(x) = W x + b`` trained by empirical risk minimization.

    Every parameter is declared once in :mod:`linclass.options` (type, range, default,
    which choices use it); the CLI and the playground read the same records. Parameters
    that belong to some choices only (``margin``, ``l1_ratio``, ``learning_rate``,
    ``schedule``, ``batch_size``, ``momentum`` and the search optimizers' own) default to
    None, meaning "that choice's default"; set explicitly where the chosen loss, penalty or
    optimizer does not use them, ``fit`` refuses them and says which choices take them.

    The defaults need no tuning: without ``max_epochs`` a run lasts about
    :data:`~linclass.options.UPDATE_BUDGET` updates (at least 10 epochs), and stops early
    once the training loss improves by less than ``tol`` for ``patience`` epochs; a run
    that ends on its budget while still improving warns (``ConvergenceWarning``).

    Args:
        loss: ``"softmax"`` (cross-entropy), ``"svm"`` (multiclass hinge), ``"ova_hinge"``
            or ``"ova_logistic"`` (one-vs-all).
        penalty: ``"l2"``, ``"l1"``, ``"elasticnet"`` or ``"none"``; the bias is never penalised.
        alpha: Regularization strength.
        l1_ratio: Elastic-net mix (``"elasticnet"`` only; default 0.5).
        margin: Hinge margin (``"svm"`` and ``"ova_hinge"`` only; default 1.0).
        optimizer: ``"gd"``, ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"random_search"``,
            ``"random_local_search"``, ``"genetic"`` or ``"lbfgs"`` (full-batch L-BFGS,
            beyond the lecture: ``max_epochs`` caps its iterations and ``tol`` is its
            gradient tolerance; see :mod:`linclass.optim.lbfgs`).
        gradient: ``"analytic"``, ``"numerical"`` or ``"autodiff"`` (gradient optimizers).
        numerical_method: ``"centered"`` or ``"forward"`` (one-sided) differences
            (``gradient="numerical"`` only; default ``"centered"``).
        numerical_h: The finite-difference step (``gradient="numerical"`` only; default 1e-5).
        learning_rate: Initial step size (gradient optimizers). None: the optimizer
            record's rate (:data:`~linclass.options.OPTIMIZERS`), capped at a safe
            ``min(default, 1/L)`` (``L`` the curvature bound of the objective on these
            data, :func:`linclass.estimators.plan.step_size`) for the squared error and
            for rows on disk or a cluster; ``settings_`` records the rate used.
        schedule: ``"constant"``, ``"step"``, ``"exponential"``, ``"inverse_time"`` or
            ``"cosine"`` (gradient optimizers; default ``"cosine"``).
        batch_size: Mini-batch size (``sgd``, ``momentum``, ``nesterov``; default 256).
        momentum: mu of ``momentum`` and ``nesterov`` (default 0.9).
        search_scale: Standard deviation of ``random_search``'s candidates (default 0.1).
        step_size: Standard deviation of ``random_local_search``'s steps (default 0.05).
        population_size, n_elite, tournament_size, crossover_rate, mutation_rate,
            mutation_scale: The ``genetic`` algorithm's (see :func:`linclass.optim.genetic`).
        memory: Correction pairs ``lbfgs`` keeps (SciPy's ``maxcor``; default 10).
        max_epochs: Most passes over the data; None: about ``UPDATE_BUDGET`` updates for
            gradient optimizers, :data:`~linclass.options.SEARCH_AUTO_EPOCHS` candidates or
            generations for the searches.
        tol: Stop when the training loss has improved by less than this for ``patience``
            epochs (gradient optimizers; None: always run ``max_epochs``). With early
            stopping, the least validation improvement that counts.
        patience: Epochs without enough improvement before stopping.
        early_stopping: Hold out ``validation_fraction`` of the training rows and stop when
            the validation loss has not improved for ``patience`` epochs, keeping the best.
        validation_fraction: Size of that hold-out.
        scaling: ``"auto"``: an in-memory feature matrix trains in standardized
            coordinates (:mod:`linclass.training.reparam`): ``W`` and ``b`` are rescaled so
            that the optimizer sees standardized columns, while the objective, penalty
            included, stays exactly the one above; columns on scales orders of magnitude
            apart then learn as well as standardized ones, with every optimizer.
            ``"none"``: steps on ``W`` and ``b`` as they are (the lecture's plain loop).
            Rows converted batch by batch (``ImageClassifier``, which has its own
            preprocessing) or read from disk or a cluster always train in their own.
        backend: ``"numpy"`` or ``"torch"`` (PyTorch, ``pip install linclass[torch]``; the
            gradient optimizers with ``gradient="analytic"``); None: NumPy on the cpu,
            torch on any other device. ``coef_`` and model files are the same either way.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; a device that is not
            there is a ValueError naming those that are.
        random_state: Seed for initialization, shuffling, splits and the searches.
        dtype: ``"float32"``: train (and predict) in float32 whatever the input's float
            type: half the memory traffic of float64 rows, results to float32 precision.
            ``"float64"``: always float64. None (the default, as PyTorch and cuML train):
            mini-batch steps with the analytic gradient on the NumPy backend run in
            float32 on any dense rows (float64 or uint8 arrays are kept as given and each
            batch is cast as it is gathered, never the whole array); full-batch
            optimizers, the searches, the solver, other gradients, sparse rows and other
            backends run in float64 unless the rows are float32. ``coef_`` keeps the
            rows' float type (float32 rows: float32, else float64)
            (:func:`~linclass.estimators.plan.compute_dtype`).
        class_weight: ``"balanced"`` (class k weighs ``n_samples / (n_classes * n_k)``,
            scikit-learn's formula), a dict ``{label: weight}`` (1 for labels it leaves
            out) or None. Multiplies ``fit``'s ``sample_weight``; the data term is the
            weighted mean ``sum_i v_i L_i / sum_i v_i`` (:mod:`linclass.estimators.weights`).
        warm_start: ``fit`` starts from the current ``coef_`` and ``intercept_`` (same
            classes and features, else ValueError) instead of a new initialization.
        verbose: Show a progress bar.

    Attributes:
        coef_: ndarray of shape (n_classes, n_features), the rows of W (class templates).
        intercept_: ndarray of shape (n_classes,), b.
        classes_: ndarray of shape (n_classes,), the labels in sorted order.
        n_features_in_: Number of features seen in fit.
        n_iter_: Epochs run.
        history_: Training history (loss per step, accuracies per epoch, ...).
        settings_: The parameters that applied to the fit, with the chosen loss's,
            penalty's and optimizer's defaults filled in and ``max_epochs`` resolved.
    """

    _parameter_constraints: dict = {**constraints(ESTIMATOR_PARAMS),
                                    "class_weight": [StrOptions({"balanced"}), dict, None]}

    def __init__(
        self,
        *,
        loss: str = "softmax",
        penalty: str = "l2",
        alpha: float = 1e-4,
        l1_ratio: float | None = None,
        margin: float | None = None,
        optimizer: str = PARAMS["optimizer"].default,
        gradient: str = "analytic",
        numerical_method: str | None = None,
        numerical_h: float | None = None,
        learning_rate: float | None = None,
        schedule: str | None = None,
        batch_size: int | None = None,
        momentum: float | None = None,
        search_scale: float | None = None,
        step_size: float | None = None,
        population_size: int | None = None,
        n_elite: int | None = None,
        tournament_size: int | None = None,
        crossover_rate: float | None = None,
        mutation_rate: float | None = None,
        mutation_scale: float | None = None,
        memory: int | None = None,
        max_epochs: int | None = None,
        tol: float | None = 1e-3,
        patience: int = 20,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        scaling: str = "auto",
        backend: str | None = None,
        device: str = "cpu",
        dtype: str | None = None,
        class_weight: dict | str | None = None,
        warm_start: bool = False,
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
        self.numerical_method = numerical_method
        self.numerical_h = numerical_h
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.momentum = momentum
        self.search_scale = search_scale
        self.step_size = step_size
        self.population_size = population_size
        self.n_elite = n_elite
        self.tournament_size = tournament_size
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.mutation_scale = mutation_scale
        self.memory = memory
        self.max_epochs = max_epochs
        self.tol = tol
        self.patience = patience
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scaling = scaling
        self.backend = backend
        self.device = device
        self.dtype = dtype
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # --- fitting ----------------------------------------------------------------------

    def __sklearn_tags__(self) -> Tags:
        """scikit-learn's tags: sparse rows are taken (:func:`~linclass.estimators.
        fitting.sparse_rows`)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


    def objective_params(self) -> dict[str, Any]:
        """Loss, penalty and their arguments, as the objective and gradient functions take them."""
        return make_plan(self.get_params(), task="classification", n_samples=1).objective

    def _check_hyperparameters(self) -> None:
        """Types and ranges (from the records), then the fit plan's checks across
        parameters (no option set for a choice that does not use it, ...)."""
        self._validate_params()
        resolve_backend(self.backend, self.device)
        check_plan(self.get_params(), task="classification")

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *,
            validation_data: tuple[Any, Any] | None = None) -> LinearClassifier:
        """Fit W and b on ``(X, y)``.

        Args:
            X: array-like of shape (n_samples, n_features); a memory map
                (``np.load(path, mmap_mode="r")``) or a zarr array is read a chunk of rows
                at a time, never whole (:mod:`linclass.backends.numpy`); a Dask array is
                trained where its partitions live (:mod:`linclass.backends.dask`).
            y: array-like of shape (n_samples,), any label type (strings, negative ints, ...).
            sample_weight: Optional array-like of shape (n_samples,), finite and >= 0, not
                all 0: the data term becomes ``sum_i v_i L_i / sum_i v_i`` (times
                ``class_weight``), so integer weights equal duplicated rows.
            validation_data: Optional ``(X_val, y_val)`` held out by the caller: its loss
                and accuracy are recorded every epoch in ``history_``, and early stopping
                monitors it instead of carving ``validation_fraction`` out of ``X``.

        Returns:
            self.
        """
        return self.fit_transformed(X, y, sample_weight=sample_weight,
                                    validation_data=validation_data)

    def fit_transformed(self, X: Any, y: Any, *,
                        transform: Callable[..., np.ndarray] | None = None,
                        n_features: int | None = None,
                        validation_data: tuple[Any, Any] | None = None,
                        sample_weight: Any = None) -> LinearClassifier:
        """Fit on feature rows, or on stored rows that ``transform`` turns into features
        one mini-batch at a time (``n_features``: their width).

        The second form is :class:`~linclass.estimators.image.ImageClassifier`'s: uint8
        images stay as they are and the loop converts only each batch, so a float copy of
        the whole training set never exists; :meth:`predict` and friends then take
        ``transform(X)``. Validation rows go through the same transform.

        Rows on disk or on a cluster (:func:`~linclass.training.arrays.is_out_of_core`,
        a Dask array) take the second form with :func:`~linclass.training.arrays.
        float_rows`: they are never copied here.
        """
        self._check_hyperparameters()
        before = self._warm_state()
        stored = transform is None and (is_out_of_core(X) or is_dask(X))
        if stored:
            transform, n_features = float_rows, X.shape[1]
        model_dtype = None
        if transform is None:
            # "numeric": rows keep their type here; the dtype policy decides below
            X, y = validate_data(self, X, y, dtype="numeric",
                                 accept_sparse=fitting.SPARSE_FORMATS)
            X = fitting.sparse_rows(X, self.get_params())
            X, dtype, model_dtype = self._rows_for(X)
            n_features = X.shape[1]
        else:
            if n_features is None:
                raise TypeError("fit_transformed with a transform needs n_features")
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
            self.n_features_in_, dtype = int(n_features), np.dtype(np.float32)
            if stored and X.dtype == np.float64:  # float64 rows train float64 params
                dtype = X.dtype
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                "LinearClassifier needs samples of at least 2 classes in the data; "
                f"got 1 class: {self.classes_[0]!r}"
            )
        y_enc = self._encode(y)
        weights = row_weights(y_enc.shape[0], sample_weight, self.class_weight, y_enc,
                              self.classes_)
        init = warm_params(before, self.classes_, int(n_features))
        X_val, y_val = None, None
        if validation_data is not None:
            X_val = validation_data[0]
            if transform is None:
                X_val = self._validate_X(X_val, reset=False)
            y_val = self._encode(validation_data[1], what="validation labels")
        return self._fit_encoded(X, y_enc, X_val, y_val, n_features=int(n_features),
                                 dtype=dtype, transform=transform, weights=weights, init=init,
                                 model_dtype=model_dtype)

    def _compute_dtype(self, X: Any) -> np.dtype:
        """The float type of the fit's steps (:func:`~linclass.estimators.plan.
        compute_dtype`, the ``dtype`` policy)."""
        return compute_dtype(self.get_params(), X.dtype, dense=not issparse(X),
                             backend=resolve_backend(self.backend, self.device),
                             numpy_backend=resolve_backend(None, "cpu"))

    def _rows_for(self, X: Any) -> tuple[Any, np.dtype, np.dtype]:
        """``(rows, compute dtype, coef_ dtype)`` of validated rows. Dense rows that train
        in float32 stay as they are (float64, uint8, ...): each batch is cast as it is
        gathered, so no float copy of the whole set is made; other rows are converted
        once, as before. ``coef_`` keeps the float type scikit-learn would give
        (float32 for float32 rows or ``dtype="float32"``, else float64)."""
        dtype = self._compute_dtype(X)
        model_dtype = (np.dtype(self.dtype) if self.dtype is not None
                       else np.dtype(np.float32) if X.dtype == np.float32
                       else np.dtype(np.float64))
        if issparse(X) or dtype != np.float32:
            X = X.astype(dtype, copy=False)
        return X, dtype, model_dtype

    def _warm_state(self) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """``(classes_, params)`` of the previous fit when ``warm_start`` continues from it."""
        if not self.warm_start or not hasattr(self, "coef_"):
            return None
        return self.classes_, {k: np.array(v, copy=True) for k, v in self._params().items()}

    def _dtypes(self) -> Any:
        """What ``validate_data`` may convert rows to (``dtype``; by default float32 stays
        float32, half the memory traffic, and everything else becomes float64)."""
        return [np.float64, np.float32] if self.dtype is None else np.dtype(self.dtype)

    def _validate_X(self, X: Any, *, reset: bool) -> np.ndarray:
        return validate_data(self, X, reset=reset, dtype=self._dtypes(),
                             accept_sparse=fitting.SPARSE_FORMATS)

    def _encode(self, y: Any, what: str = "labels") -> np.ndarray:
        """Labels as indices into ``classes_`` (the one label encoding of this estimator).

        Raises:
            ValueError: For labels that are not in ``classes_``.
        """
        y = np.asarray(y)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"{what} {unknown.tolist()} are not in the training labels "
                             f"{self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _fit_encoded(self, X, y_enc, X_val, y_val, *, n_features: int, dtype: np.dtype,
                     transform: Callable[..., np.ndarray] | None = None,
                     weights: np.ndarray | None = None,
                     init: dict[str, np.ndarray] | None = None,
                     model_dtype: np.dtype | None = None) -> LinearClassifier:
        """The part of fitting shared by :meth:`fit` and :meth:`fit_transformed`: the fit
        plan (:mod:`linclass.estimators.plan`), carried out by
        :mod:`linclass.estimators.fitting`; ``weights`` per row (or None), ``init`` the
        starting ``(W, b)`` of a warm start (or None); ``dtype`` the steps' float type and
        ``model_dtype`` that of ``coef_`` (None: ``dtype``)."""
        rng = np.random.default_rng(self.random_state)
        if X_val is None and self.early_stopping:
            # the weights follow their rows; the held-out rows are scored unweighted
            split = train_test_split(X, y_enc, *(() if weights is None else (weights,)),
                                     test_size=self.validation_fraction, stratify=y_enc,
                                     random_state=int(rng.integers(2**31)))
            X, X_val, y_enc, y_val = split[:4]
            weights = None if weights is None else split[4]
        in_memory = transform is None and (isinstance(X, np.ndarray) or issparse(X))
        plan = make_plan(self.get_params(), task="classification", n_samples=len(y_enc),
                         in_memory=in_memory)
        prepared = fitting.prepare(plan, X, None, rng, transform)
        fitted = fitting.run(prepared, X, with_weights(y_enc, weights), len(self.classes_),
                             n_features, dtype=dtype, rng=rng, X_val=X_val, y_val=y_val,
                             transform=transform, progress=bool(self.verbose), init=init)
        result = fitted.result
        self._set_params({k: v.astype(model_dtype or dtype, copy=False)
                          for k, v in fitted.params.items()})
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self.settings_ = fitted.plan.settings
        self._prepared: fitting.Prepared | None = prepared
        self._optimizer_state = result.state
        if (result.stopped_reason == "max_epochs" and fitted.tol is not None
                and not self.early_stopping):
            warn_if_still_improving(self, result.history.train_loss, fitted.tol)
        return self

    def _incremental(self) -> bool:
        """Whether the optimizer takes steps one batch at a time (a solver does not)."""
        return not choice("optimizer", self.optimizer).has("solver")

    @available_if(_incremental)
    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
                    ) -> LinearClassifier:
        """One pass of the optimizer over a batch that has just arrived.

        ``dask_ml.wrappers.Incremental(LinearClassifier(...))`` calls it once per block of
        a Dask array.

        Args:
            X: array-like of shape (n_samples, n_features).
            y: array-like of shape (n_samples,).
            classes: All labels that will ever appear; required on the first call.
            sample_weight: Optional weights of the batch's rows (as in :meth:`fit`; the
                batch's data term is their weighted mean). A dict ``class_weight`` applies
                too; ``"balanced"`` needs the whole training set, so it is refused here
                (pass ``sklearn.utils.class_weight.compute_class_weight``'s dict instead).

        Returns:
            self.
        """
        first = not hasattr(self, "classes_")
        self._check_hyperparameters()
        if isinstance(self.class_weight, str):
            raise ValueError("class_weight='balanced' needs the whole training set and is "
                             "not supported by partial_fit; pass a dict computed by "
                             "sklearn.utils.class_weight.compute_class_weight('balanced', "
                             "classes=classes, y=y) instead")
        X, y = validate_data(self, X, y, reset=first, dtype=self._dtypes(),
                             accept_sparse=fitting.SPARSE_FORMATS)
        X = fitting.sparse_rows(X, self.get_params())
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(f"classes must hold at least 2 labels, got "
                                 f"{self.classes_.tolist()}")
        rng = np.random.default_rng(self.random_state)
        prepared = getattr(self, "_prepared", None)
        if prepared is None:  # the first call, or a loaded model
            # Coordinates and step size come from the first batch and then stay: the
            # optimizer state lives in them.
            plan = make_plan(self.get_params(), task="classification", n_samples=len(y))
            prepared = self._prepared = fitting.prepare(plan, X, None, rng)
            self.settings_ = prepared.plan.settings
        if first:
            theta = init_params(X.shape[1], len(self.classes_), random_state=rng, dtype=X.dtype)
            reparam = prepared.reparam
            self._set_params(theta if reparam is None
                             else reparam.astype(X.dtype).to_model(theta))
            self._optimizer_state, self.n_iter_ = None, 0
        y_enc = self._encode(y)
        weights = row_weights(y_enc.shape[0], sample_weight, self.class_weight, y_enc,
                              self.classes_)
        params, self._optimizer_state = fitting.partial_step(
            prepared, self._params(), X, with_weights(y_enc, weights), self._optimizer_state,
            self.random_state)
        self._set_params(params)
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
        return choice("loss", self.loss).has("probabilities")

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

    def to_onnx(self, path: str | os.PathLike | None = None, *, force: bool = False) -> Any:
        """This classifier as an ``onnx.ModelProto`` (input ``input`` float32 (N, D);
        outputs ``scores``, ``label``, ``probabilities``: :mod:`linclass.export.models`),
        also written to ``path`` (atomically; ``force`` to overwrite) when given."""
        from linclass.export.models import classifier_onnx, save_onnx

        return save_onnx(classifier_onnx(self), path, force=force)

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
        fitted = {"classes": encode_classes(self.classes_),
                  "n_features_in": int(self.n_features_in_),
                  "n_iter": int(getattr(self, "n_iter_", 0)), **(extra_meta or {})}
        return save_estimator(path, self, self._params(), fitted, arrays=arrays, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearClassifier:
        """Rebuild a fitted estimator from :meth:`save`'s file (verified; see
        :func:`linclass.io.persist.load_model`). An image classifier's file is refused
        (its preprocessing would be lost): :meth:`ImageClassifier.load` reads it."""
        clf, meta, _ = cls.load_with_meta(path)
        refuse_pipeline(path, meta)
        return clf

    @classmethod
    def load_with_meta(
        cls, path: str | os.PathLike
    ) -> tuple[LinearClassifier, dict[str, Any], dict[str, np.ndarray]]:
        """Like :meth:`load`, also returning the metadata and the extra arrays."""
        def restore(clf: LinearClassifier, meta: dict[str, Any]) -> None:
            clf._check_hyperparameters()  # the file's values, held to fit's rules
            clf.classes_ = decode_classes(meta["classes"])
            clf.n_features_in_ = int(meta["n_features_in"])
            clf.n_iter_ = int(meta.get("n_iter", 0))

        clf, params, meta, arrays = load_estimator(path, cls, restore)
        if params["W"].shape != (len(clf.classes_), clf.n_features_in_):
            raise ModelFileError(
                f"{path}: W has shape {params['W'].shape} but the metadata says "
                f"{len(clf.classes_)} classes and {clf.n_features_in_} features"
            )
        clf._set_params(params)
        clf._optimizer_state = None
        clf._prepared = None  # partial_fit takes coordinates and step from its first batch
        return clf, meta, arrays
