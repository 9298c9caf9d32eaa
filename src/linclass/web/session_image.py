"""State and steps of the image (visual) view: train on images, watch each row of W.

Training runs in small chunks, one chunk of ``k`` minibatch steps per request, so the
page can draw progress between chunks without the server holding a long job. The math is
the library's: :func:`linclass.objective.value_and_grad` on each minibatch, the step from
:mod:`linclass.web.optimizers`, scores from :mod:`linclass.model`, and the click-to-explain
breakdown from :func:`linclass.explain.explain_scores`.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from linclass.explain import EXPLAINED_LOSSES, explain_scores
from linclass.model import init_params, predict, scores
from linclass.objective import objective_value, value_and_grad
from linclass.regularizers import PENALTIES
from linclass.web.optimizers import OPTIMIZERS, is_diverged, make_optimizer

# Fashion-MNIST joins when linclass.data.load_dataset lands (it owns reading IDX files).
DATASETS = ("digits",)
MAX_STEPS_PER_CALL = 200
MAX_BATCH = 1024
EVAL_SIZE = 2000  # examples used for the curves after each chunk; bounds its cost
GALLERY_PER_CLASS = 3
HISTORY_LENGTH = 2000


@dataclass(frozen=True)
class ImageData:
    """One dataset, split and preprocessed once and shared by every session.

    Attributes:
        X_train, X_test: ndarray of shape (n, D), float64, mean image of train subtracted.
        y_train, y_test: ndarray of shape (n,), int64.
        display_test: ndarray of shape (n_test, D), uint8 0..255, the test images as seen.
        class_names: Name of each class.
        image_shape: ``(H, W)``.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    display_test: np.ndarray
    class_names: list[str]
    image_shape: tuple[int, int]


@functools.lru_cache(maxsize=len(DATASETS))
def load_image_data(name: str) -> ImageData:
    """Load, split (75/25, stratified, seed 0) and centre a dataset; cached per process."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
    # Stand-in until linclass.data.load_dataset("digits") is merged; same split as
    # `linclass train` so the numbers agree.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=0)
    mean = X_tr.mean(axis=0)  # fitted on train only
    arrays = [X_tr - mean, y_tr.astype(np.int64), X_te - mean, y_te.astype(np.int64),
              np.round(X_te * 255).astype(np.uint8)]
    for a in arrays:  # shared by every session: no session may write into them
        a.setflags(write=False)
    return ImageData(name, *arrays, [str(k) for k in range(10)], (8, 8))


@dataclass(frozen=True)
class ConfigImage:
    """The controls of the image view."""

    loss: str = "softmax"
    margin: float = 1.0
    penalty: str = "l2"
    alpha: float = 1e-3
    optimizer: str = "sgd"
    learning_rate: float = 0.5
    batch_size: int = 64

    def check(self) -> ConfigImage:
        """Raise ValueError on an unknown name or an out-of-range number; return self."""
        if self.loss not in EXPLAINED_LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {list(EXPLAINED_LOSSES)}")
        if self.penalty not in PENALTIES:
            raise ValueError(
                f"unknown penalty {self.penalty!r}; choose one of {sorted(PENALTIES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}")
        for name, lo, hi in (("margin", 0.0, 100.0), ("alpha", 0.0, 1e3),
                             ("learning_rate", 0.0, 1e9)):
            v = getattr(self, name)
            if not (np.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {v}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must lie in [1, {MAX_BATCH}], got {self.batch_size}")
        return self

    def loss_kwargs(self) -> dict[str, float]:
        """Keyword arguments for the loss (the margin only where the loss has one)."""
        return {"margin": self.margin} if self.loss in ("svm", "ova_hinge") else {}


class ImageSession:
    """One learner's image-view training run. The web app locks around every call."""

    def __init__(self, dataset: str = "digits", seed: int = 0, **config: Any) -> None:
        self.data = load_image_data(dataset)
        self.seed = seed
        self.config = replace(ConfigImage(), **config).check()
        rng = np.random.default_rng(seed)
        n_classes = len(self.data.class_names)
        self.params = init_params(self.data.X_train.shape[1], n_classes, random_state=seed)
        init, self._update = make_optimizer(self.config.optimizer, self.config.learning_rate)
        self._opt_state = init(self.params)
        self._rng = rng
        self._order = np.zeros(0, dtype=np.int64)  # remaining indices of the current epoch
        self.n_steps = 0
        self.epoch = 0
        self.diverged = False
        self.message: str | None = None
        self._eval_train = rng.permutation(len(self.data.y_train))[:EVAL_SIZE]
        self._eval_test = np.arange(min(EVAL_SIZE, len(self.data.y_test)))
        self.gallery = self._pick_gallery(rng)
        # The curves start at the untrained model (loss about log C, chance accuracy).
        self.history: list[dict[str, float | None]] = [self._evaluate(None)]

    def configure(self, **changes: Any) -> None:
        """Change controls mid-run; the optimizer restarts from rest with them."""
        unknown = set(changes) - set(asdict(self.config))
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}")
        self.config = replace(self.config, **changes).check()
        init, self._update = make_optimizer(self.config.optimizer, self.config.learning_rate)
        self._opt_state = init(self.params)
        self.diverged, self.message = False, None

    def step(self, k: int) -> None:
        """Run ``k`` minibatch gradient steps, stopping before any step that diverges."""
        if not 1 <= k <= MAX_STEPS_PER_CALL:
            raise ValueError(f"steps must lie in [1, {MAX_STEPS_PER_CALL}], got {k}")
        if self.diverged:
            return
        c = self.config
        batch_losses = []
        for _ in range(k):
            idx = self._next_batch()
            value, grads = value_and_grad(self.params, self.data.X_train[idx],
                                          self.data.y_train[idx], c.loss, c.penalty, c.alpha,
                                          **c.loss_kwargs())
            new_params, new_state = self._update(self.params, grads, self._opt_state)
            if is_diverged(value, new_params):
                self.diverged = True
                self.message = (
                    f"Diverged at step {self.n_steps}: learning rate {c.learning_rate:g} is "
                    "too large; the weights were kept at their last finite values. Lower it "
                    "and press apply, or start over.")
                break
            batch_losses.append(value)
            self.params, self._opt_state = new_params, new_state
            self.n_steps += 1
        if batch_losses:
            self.history.append(self._evaluate(float(np.mean(batch_losses))))
            del self.history[:-HISTORY_LENGTH]

    def state(self, *, with_gallery_images: bool = False) -> dict[str, Any]:
        """Progress, curves and templates, as JSON-ready numbers (never NaN)."""
        d = self.data
        test_pred = predict(self.params, d.X_test[self.gallery])
        out: dict[str, Any] = {
            "dataset": d.name,
            "class_names": d.class_names,
            "image_shape": list(d.image_shape),
            "config": asdict(self.config),
            "step": self.n_steps,
            "epoch": self.epoch,
            "history": self.history,
            "templates": self._templates(),
            "gallery": {"indices": self.gallery.tolist(),
                        "labels": d.y_test[self.gallery].tolist(),
                        "predictions": test_pred.tolist()},
            "diverged": self.diverged,
            "message": self.message,
        }
        if with_gallery_images:
            out["gallery"]["images"] = d.display_test[self.gallery].tolist()
        return out

    def explain(self, index: int) -> dict[str, Any]:
        """Scores, probabilities and the step-by-step loss of test image ``index``."""
        d = self.data
        if not 0 <= index < len(d.y_test):
            raise ValueError(f"test image index must lie in [0, {len(d.y_test) - 1}], got {index}")
        s = scores(self.params, d.X_test[index:index + 1])[0]
        out = explain_scores(s, int(d.y_test[index]), self.config.loss, d.class_names,
                             self.config.margin)
        out["index"] = index
        out["image"] = d.display_test[index].tolist()
        out["image_shape"] = list(d.image_shape)
        return out

    # --- helpers ------------------------------------------------------------------------

    def _next_batch(self) -> np.ndarray:
        # Sampling without replacement within an epoch, reshuffled each epoch.
        n = len(self.data.y_train)
        if self._order.size < self.config.batch_size:
            if self.n_steps:
                self.epoch += 1
            self._order = np.concatenate([self._order, self._rng.permutation(n)])
        idx, self._order = (self._order[:self.config.batch_size],
                            self._order[self.config.batch_size:])
        return idx

    def _evaluate(self, batch_loss: float | None) -> dict[str, float | None]:
        d, c, tr, te = self.data, self.config, self._eval_train, self._eval_test
        train_loss = objective_value(self.params, d.X_train[tr], d.y_train[tr], c.loss,
                                     c.penalty, c.alpha, **c.loss_kwargs())
        return {
            "step": self.n_steps,
            "batch_loss": batch_loss,
            "train_loss": float(train_loss),
            "train_accuracy": float(np.mean(predict(self.params, d.X_train[tr]) == d.y_train[tr])),
            "test_accuracy": float(np.mean(predict(self.params, d.X_test[te]) == d.y_test[te])),
        }

    def _templates(self) -> dict[str, Any]:
        """Each row of W as an image: uint8 with 128 at zero, scaled by the row's max |w|.

        A symmetric scale per template keeps the sign visible (the page maps it onto a
        diverging palette), as the lecture's template pictures do with their own range.
        """
        W = self.params["W"]
        scale = np.abs(W).max(axis=1)
        safe = np.where(scale > 0, scale, 1.0)[:, None]
        q = np.clip(np.round(127.5 + 127.5 * W / safe), 0, 255).astype(np.uint8)
        return {"pixels": q.tolist(), "scale": scale.tolist()}

    def _pick_gallery(self, rng: np.random.Generator) -> np.ndarray:
        y = self.data.y_test
        picks = [rng.choice(np.flatnonzero(y == k), GALLERY_PER_CLASS, replace=False)
                 for k in range(len(self.data.class_names))]
        return np.stack(picks, axis=1).ravel()  # interleaved: 0 1 2 ... 9 0 1 2 ...
