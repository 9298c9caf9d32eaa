"""State and steps of the image (visual) view: train on images, watch each row of W.

Training runs in small chunks, one chunk of ``k`` minibatch steps per request, so the
page can draw progress between chunks without the server holding a long job. Everything
comes from the library: the images from :func:`linclass.data.load_dataset`, their feature
rows (pixels scaled to [0, 1], the training mean image subtracted) from
:class:`linclass.features.FeaturePipeline`, each step by the fit loop's own runner
(:class:`linclass.training.Runner`: the objective of a minibatch, the divergence rule, the
update of :mod:`linclass.optim`), scores from :mod:`linclass.model`, and
the click-to-explain breakdown from :func:`linclass.explain.explain_scores`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass.data import FASHION_MNIST_DIR, Dataset, load_dataset
from linclass.data.dataset import Split
from linclass.explain import EXPLAINED_LOSSES, explain_scores
from linclass.features import FeaturePipeline
from linclass.losses import DEFAULT_LOSS
from linclass.model import Params, init_params, predict, scores
from linclass.objective import objective_value
from linclass.options import PLAIN_SGD, choice
from linclass.web.config import (
    MARGIN_LOSSES,
    STEPPED_OPTIMIZERS,
    ViewControls,
    loss_kwargs,
    updated,
)
from linclass.web.optimizers import GuardedSteps

MAX_STEPS_PER_CALL = 200
MAX_BATCH = 1024
EVAL_SIZE = 2000  # examples used for the curves after each chunk; bounds its cost
GALLERY_PER_CLASS = 3
HISTORY_LENGTH = 2000


def available_datasets() -> list[str]:
    """``digits`` (bundled with scikit-learn), and ``fashion-mnist`` when Debian's
    ``dataset-fashion-mnist`` package has put its files in place."""
    return ["digits"] + (["fashion-mnist"] if FASHION_MNIST_DIR.is_dir() else [])


@dataclass(frozen=True)
class ImageData:
    """One dataset with its fitted features, loaded once and shared by every session.

    The images stay uint8 (60,000 Fashion-MNIST images are 47 MB that way); a minibatch
    becomes feature rows only when it is drawn. The evaluation subsets are turned into
    rows once, since the curves look at them after every chunk.

    Attributes:
        dataset: Train and test images, labels and class names.
        features: Raw pixels in [0, 1] minus the training mean image, fitted on train.
        eval_train: ndarray of shape (n_eval,), indices of the training images scored
            for the curves; ``X_eval_train`` holds their feature rows (n_eval, D).
        eval_test: The same for the test images; ``X_eval_test`` their rows.
    """

    dataset: Dataset
    features: FeaturePipeline
    eval_train: np.ndarray
    X_eval_train: np.ndarray
    eval_test: np.ndarray
    X_eval_test: np.ndarray

    def rows(self, split: Split, idx: np.ndarray) -> np.ndarray:
        """Feature rows of some images of ``split``: ndarray of shape (len(idx), D)."""
        return self.features.transform(self.dataset.images(split)[idx])


@functools.lru_cache(maxsize=2)
def load_image_data(name: str) -> ImageData:
    """Load a dataset and fit its features on the training split; cached per process.

    Raises:
        ValueError: On a name that is not available (or a DataError from the loader).
    """
    if name not in available_datasets():
        raise ValueError(f"unknown dataset {name!r}; choose one of {available_datasets()}")
    ds = load_dataset(name)  # digits: the same seeded 75/25 split as `linclass train`
    assert isinstance(ds, Dataset)  # a registered name: images, never embeddings
    features = FeaturePipeline().fit(ds.X_train)
    rng = np.random.default_rng(0)
    eval_train = np.sort(rng.permutation(len(ds.y_train))[:EVAL_SIZE])
    eval_test = np.arange(min(EVAL_SIZE, len(ds.y_test)))
    arrays = [eval_train, features.transform(ds.X_train[eval_train]),
              eval_test, features.transform(ds.X_test[eval_test])]
    for a in arrays:  # shared by every session: no session may write into them
        a.setflags(write=False)
    return ImageData(ds, features, *arrays)


#: The image view's controls: the losses :mod:`linclass.explain` can walk through, every
#: optimizer of the records. Full-batch ones (``gd``, the searches) see the evaluation
#: subset of the training images (all of them for the digits), so a step stays quick.
CONTROLS = ViewControls(
    losses=tuple(EXPLAINED_LOSSES), optimizers=STEPPED_OPTIMIZERS, max_batch=MAX_BATCH,
    defaults={"loss": DEFAULT_LOSS, "alpha": 1e-3, "optimizer": PLAIN_SGD, "learning_rate": 0.5,
              "batch_size": 64, "search_scale": 0.01, "step_size": 0.005,
              "mutation_scale": 0.005, "population_size": 20})


class ImageSession(GuardedSteps):
    """One learner's image-view training run. The web app locks around every call."""

    def __init__(self, dataset: str = "digits", seed: int = 0, **config: Any) -> None:
        self.seed = seed
        self.dataset = dataset
        #: The view's grid of settings (a :class:`linclass.web.session_grid.GridRun`), or
        #: None: the app starts and steps it under this session's lock.
        self.grid: Any = None
        config = updated(CONTROLS, CONTROLS.initial(), config)
        self.data = load_image_data(dataset)
        self._rng = np.random.default_rng(seed)
        ds = self.data.dataset
        self.params = init_params(self.data.features.n_features_out, ds.n_classes,
                                  random_state=seed)
        self._start_optimizer(config)
        self._order = np.zeros(0, dtype=np.int64)  # remaining indices of the current epoch
        self.n_steps = 0
        self.epoch = 0
        self.gallery = self._pick_gallery()
        # The curves start at the untrained model (loss about log C, chance accuracy).
        self.history: list[dict[str, float | None]] = [self._evaluate(None)]

    def configure(self, **changes: Any) -> None:
        """Change controls mid-run; the optimizer restarts from rest with them.

        Checked whole before anything is applied: on a ValueError nothing changed.
        """
        self._start_optimizer(updated(CONTROLS, self.config, changes))

    def adopt(self, params: Params, changes: dict[str, Any], n_steps: int,
              epoch: int) -> None:
        """Continue from weights trained elsewhere (a head of the grid) with the controls
        ``changes`` (its learning rate and alpha): the optimizer restarts from rest, the
        curves start again at the adopted model, and the divergence rule measures its rise
        from the next step's loss.

        Checked whole before anything is applied: on a ValueError nothing changed.
        """
        config = updated(CONTROLS, self.config, changes)
        W, b = self.params["W"], self.params["b"]
        if params["W"].shape != W.shape or params["b"].shape != b.shape:
            raise ValueError(f"the weights must have shapes {W.shape} and {b.shape}, got "
                             f"{params['W'].shape} and {params['b'].shape}")
        self.params = {k: np.array(v, dtype=W.dtype) for k, v in params.items()}
        self._start_optimizer(config)
        self.n_steps, self.epoch, self.start_loss = n_steps, epoch, None
        self._order = np.zeros(0, dtype=np.int64)
        self.history = [self._evaluate(None)]

    def step(self, k: int) -> None:
        """Run ``k`` optimizer steps, stopping before any gradient step that diverges.

        ``sgd``, ``momentum`` and ``nesterov`` take minibatches; ``gd`` and the searches the
        evaluation subset of the training images (see :data:`CONTROLS`).
        """
        if not 1 <= k <= MAX_STEPS_PER_CALL:
            raise ValueError(f"steps must lie in [1, {MAX_STEPS_PER_CALL}], got {k}")
        if self.diverged:
            return
        d = self.data
        full_batch = choice("optimizer", self.config["optimizer"]).has("full_batch")
        runner = self._runner(d.X_eval_train, d.dataset.y_train[d.eval_train])
        batch_losses = []
        for _ in range(k):
            X = y = None  # a search, or a full-batch step: the evaluation subset
            if not (self.searching or full_batch):
                idx = self._next_batch()
                X, y = d.rows("train", idx), d.dataset.y_train[idx]
            if not self._guarded_step(runner, X, y):
                break
            batch_losses.append(float(runner.losses[-1]))
        if batch_losses:
            self.history.append(self._evaluate(float(np.mean(batch_losses))))
            del self.history[:-HISTORY_LENGTH]

    def state(self, *, with_gallery_images: bool = False) -> dict[str, Any]:
        """Progress, curves and templates, as JSON-ready numbers (never NaN)."""
        ds = self.data.dataset
        test_pred = predict(self.params, self.data.rows("test", self.gallery))
        out: dict[str, Any] = {
            "dataset": ds.name,
            "class_names": ds.class_names,
            "image_shape": list(ds.image_shape),
            "config": dict(self.config),
            "step": self.n_steps,
            "epoch": self.epoch,
            "history": self.history,
            "templates": self._templates(),
            "gallery": {"indices": self.gallery.tolist(),
                        "labels": ds.y_test[self.gallery].tolist(),
                        "predictions": test_pred.tolist()},
            "diverged": self.diverged,
            "message": self.message,
        }
        if with_gallery_images:
            out["gallery"]["images"] = [self._pixels(i) for i in self.gallery]
        return out

    def explain(self, index: int) -> dict[str, Any]:
        """Scores, probabilities and the step-by-step loss of test image ``index``."""
        ds = self.data.dataset
        if not 0 <= index < len(ds.y_test):
            raise ValueError(
                f"test image index must lie in [0, {len(ds.y_test) - 1}], got {index}")
        x = self.data.rows("test", np.array([index]))
        s = scores(self.params, x)[0]
        out = explain_scores(s, int(ds.y_test[index]), self.config["loss"], ds.class_names,
                             self.config["margin"])
        if self.config["loss"] in MARGIN_LOSSES:  # a hinge loss gives no probabilities
            out.pop("probabilities", None)
        out.update(index=index, image=self._pixels(index), image_shape=list(ds.image_shape),
                   contributions=quantized(self.params["W"] * x))
        return out

    # --- helpers ------------------------------------------------------------------------

    def _pixels(self, index: int) -> list[int]:
        """Test image ``index`` as the learner sees it: flat uint8 0..255 grey levels."""
        return self.data.dataset.X_test[index].reshape(-1).tolist()

    def _next_batch(self) -> np.ndarray:
        # Sampling without replacement within an epoch, reshuffled each epoch.
        n = len(self.data.dataset.y_train)
        if self._order.size < self.config["batch_size"]:
            if self.n_steps:
                self.epoch += 1
            self._order = np.concatenate([self._order, self._rng.permutation(n)])
        idx, self._order = (self._order[:self.config["batch_size"]],
                            self._order[self.config["batch_size"]:])
        return idx

    def _eval_loss(self, params: dict[str, np.ndarray]) -> float:
        """The objective at ``params`` on the evaluation subset (what a search compares)."""
        d, c = self.data, self.config
        return objective_value(params, d.X_eval_train, d.dataset.y_train[d.eval_train],
                               c["loss"], c["penalty"], c["alpha"], **loss_kwargs(c))

    def _evaluate(self, batch_loss: float | None) -> dict[str, float | None]:
        d, ds = self.data, self.data.dataset
        y_tr, y_te = ds.y_train[d.eval_train], ds.y_test[d.eval_test]
        train_loss = self._eval_loss(self.params)
        return {
            "step": self.n_steps,
            "batch_loss": batch_loss,
            "train_loss": float(train_loss),
            "train_accuracy": float(np.mean(predict(self.params, d.X_eval_train) == y_tr)),
            "test_accuracy": float(np.mean(predict(self.params, d.X_eval_test) == y_te)),
        }

    def _templates(self) -> dict[str, Any]:
        """Each row of W as an image (see :func:`quantized`)."""
        return quantized(self.params["W"])

    def _pick_gallery(self) -> np.ndarray:
        y = self.data.dataset.y_test
        picks = [self._rng.choice(np.flatnonzero(y == k), GALLERY_PER_CLASS, replace=False)
                 for k in range(self.data.dataset.n_classes)]
        return np.stack(picks, axis=1).ravel()  # interleaved: 0 1 2 ... 9 0 1 2 ...


def quantized(M: np.ndarray) -> dict[str, Any]:
    """Each row of ``M`` as an image: uint8 with 128 at zero, scaled by the row's max |m|.

    A symmetric scale per row keeps the sign visible (the page maps it onto a diverging
    palette), as the lecture's template pictures do with their own range. Used for the
    templates (rows of W) and the contribution maps (``w_k * x``, whose sum is
    ``s_k - b_k``).

    Returns:
        ``{"pixels": (rows, D) lists of 0..255, "scale": the max |m| of each row}``.
    """
    scale = np.abs(M).max(axis=1)
    safe = np.where(scale > 0, scale, 1.0)[:, None]
    q = np.clip(np.round(127.5 + 127.5 * M / safe), 0, 255).astype(np.uint8)
    return {"pixels": q.tolist(), "scale": scale.tolist()}
