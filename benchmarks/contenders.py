"""Every contender of the speed benchmark, one function each, and the child entry point.

The driver (:mod:`run`) starts ``python benchmarks/contenders.py NAME ...`` once per
contender, so each one's peak memory is its own. A contender gets uint8 rows
(:class:`common.Data`), does what its user would do, and returns a dict:

* ``fit_s``: seconds of each timed fit (everything from uint8 rows to trained weights that
  the contender's user must run, except ``X / 255`` for the peers, which they get free);
* ``test_accuracy``, ``epochs`` (passes over the data, or solver iterations), ``epoch_s``
  (seconds per pass of the training loop itself), ``notes``.

The child adds ``peak_rss_mb`` (whole process: interpreter, libraries, data, fit) and
``data_mb`` (the uint8 training rows) and prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402  (the benchmark folder is not a package)
    Data,
    load_data,
    median,
    n_cores,
    peak_rss_mb,
    repeat_timed,
    timed,
    unit_float,
)

#: The tuned linclass runs; the PyTorch peers train the same model with the same values.
#: ``alpha`` is the L2 strength of ``R(W) = alpha ||W||^2`` on mean-centred pixels in [0, 1]
#: (scikit-learn's C=0.1 on 60,000 rows is alpha = 1 / (2 C N) = 8e-5).
TUNED: dict[str, dict] = {
    # Re-swept for the folded step (benchmarks/sweep_fold.py): lr 1.0 x 5 epochs matches
    # lr 0.5 x 10 (0.8455 vs 0.8457) in half the time; no setting reached 0.85.
    "softmax": dict(batch_size=256, learning_rate=1.0, mu=0.9, epochs=5,
                    schedule="cosine", alpha=1e-4),
    "svm": dict(batch_size=256, learning_rate=0.1, mu=0.9, epochs=3,
                schedule="cosine", alpha=1e-4),
}
#: Full-batch gradient steps timed for the "full-batch step" target.
GD_STEPS = 10

Result = dict[str, object]


# --- the machine's bound ------------------------------------------------------------------


def blas_bound(data: Data, repeats: int) -> Result:
    """One forward+backward pass over the float32 training set, as BLAS calls and no more.

    * two calls: ``S = X W^T`` then ``G = S^T X`` over all of X (X is read twice);
    * chunked: the same per cache-sized chunk, so each chunk is read from memory once;
    * floor: the flops of that pass (``4 N D C``) at the peak sgemm speed measured on a
      large square product;
    * full-batch floor: per chunk of the fit loop's size, the uint8 rows cast to float32
      and the two products: what a full-batch step cannot skip;
    * mini-batch floors: per batch of 256 rows in a shuffled order, gather, cast and the
      two products, on one BLAS thread and on all: what a mini-batch epoch cannot skip.
    """
    X = unit_float(data.X_train, np.float32)
    n, d = X.shape
    W = np.random.default_rng(0).standard_normal((data.n_classes, d)).astype(np.float32)
    reps = max(repeats, 1) * 7

    def two_calls() -> None:
        S = X @ W.T
        S.T @ X

    def chunked(rows: int) -> Callable[[], None]:
        S = np.empty((rows, W.shape[0]), np.float32)
        G, G_c = np.zeros_like(W), np.empty_like(W)

        def run() -> None:
            G[...] = 0
            for start in range(0, n, rows):
                x = X[start:start + rows]
                s = np.matmul(x, W.T, out=S[:x.shape[0]])
                np.matmul(s.T, x, out=G_c)
                np.add(G, G_c, out=G)

        return run

    from linclass.training import CHUNK_ROWS

    def cast_chunks() -> None:
        """What a full-batch step on uint8 rows cannot skip: per chunk of the fit loop's
        size, cast to float32 and the same two products (X read once, as uint8)."""
        F = np.empty((CHUNK_ROWS, d), np.float32)
        S = np.empty((CHUNK_ROWS, W.shape[0]), np.float32)
        G, G_c = np.zeros_like(W), np.empty_like(W)
        for start in range(0, n, CHUNK_ROWS):
            f = F[: min(CHUNK_ROWS, n - start)]
            np.copyto(f, data.X_train[start:start + CHUNK_ROWS])
            s = np.matmul(f, W.T, out=S[:f.shape[0]])
            np.matmul(s.T, f, out=G_c)
            np.add(G, G_c, out=G)

    def minibatches(threads: int) -> Callable[[], None]:
        """What a mini-batch loop cannot skip on this BLAS: per batch of uint8 rows in a
        shuffled order, gather, cast to float32, and the same two products."""
        from threadpoolctl import threadpool_limits

        size = TUNED["softmax"]["batch_size"]
        order = np.random.default_rng(2).permutation(n)
        raw, F = np.empty((size, d), data.X_train.dtype), np.empty((size, d), np.float32)
        S, G = np.empty((size, W.shape[0]), np.float32), np.empty_like(W)

        def run() -> None:
            with threadpool_limits(threads, user_api="blas"):
                for start in range(0, n, size):
                    rows = order[start:start + size]
                    m = rows.shape[0]
                    np.take(data.X_train, rows, axis=0, out=raw[:m], mode="clip")
                    np.copyto(F[:m], raw[:m])
                    np.matmul(F[:m], W.T, out=S[:m])
                    np.matmul(S[:m].T, F[:m], out=G)

        return run

    def float64_minibatches() -> None:
        """The same floor on the float64 ``X / 255`` a user hands ``LinearClassifier``:
        gather the float64 rows, cast them to float32, the two products (one thread)."""
        from threadpoolctl import threadpool_limits

        size = TUNED["softmax"]["batch_size"]
        order = np.random.default_rng(2).permutation(n)
        raw, F = np.empty((size, d), np.float64), np.empty((size, d), np.float32)
        S, G = np.empty((size, W.shape[0]), np.float32), np.empty_like(W)
        with threadpool_limits(1, user_api="blas"):
            for start in range(0, n, size):
                rows = order[start:start + size]
                m = rows.shape[0]
                np.take(X64, rows, axis=0, out=raw[:m], mode="clip")
                np.copyto(F[:m], raw[:m])
                np.matmul(F[:m], W.T, out=S[:m])
                np.matmul(S[:m].T, F[:m], out=G)

    X64 = unit_float(data.X_train)
    two = median([timed(two_calls)[0] for _ in range(reps)])
    mini = {t: median([timed(minibatches(t))[0] for _ in range(reps)]) for t in (1, n_cores())}
    mini64 = median([timed(float64_minibatches)[0] for _ in range(reps)])
    full = median([timed(cast_chunks)[0] for _ in range(reps)])
    best_rows, best = 0, math.inf
    for rows in (256, 512, 1024, 2048):
        run = chunked(rows)
        t = median([timed(run)[0] for _ in range(reps)])
        if t < best:
            best_rows, best = rows, t
    A = np.random.default_rng(1).standard_normal((2048, 2048)).astype(np.float32)
    peak = 2 * 2048**3 / median([timed(lambda: A @ A)[0] for _ in range(5)])
    floor = 4 * n * d * data.n_classes / peak
    return dict(
        fit_s=[], test_accuracy=None, epochs=None, epoch_s=two,
        chunked_s=best, chunk_rows=best_rows, floor_s=floor, peak_gflops=peak / 1e9,
        minibatch_s={str(t): v for t, v in mini.items()},
        minibatch_rows=TUNED["softmax"]["batch_size"], fullbatch_s=full,
        minibatch64_s=mini64,
        fullbatch_rows=CHUNK_ROWS,
        notes=[f"two calls {two:.4f} s; chunked ({best_rows} rows) {best:.4f} s; "
               f"floor {floor:.4f} s at {peak / 1e9:.0f} GFLOP/s sgemm; mini-batches "
               + ", ".join(f"{v:.4f} s ({t} BLAS threads)" for t, v in mini.items())],
    )


# --- linclass -------------------------------------------------------------------------------


class CpuClock:
    """Wraps a fit: each call's CPU seconds (all threads of this process) per wall second,
    the figure that shows whether a fit uses the second core (1.0: one core busy)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn, self.ratios = fn, []

    def __call__(self) -> object:
        if not hasattr(self, "rss_before_mb"):  # what the process held before any fit
            with open("/proc/self/status") as f:
                kb = next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
            self.rss_before_mb = kb * 1024 / 1e6
        wall, cpu = time.perf_counter(), time.process_time()
        out = self.fn()
        self.ratios.append((time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9))
        return out


def _fit_figures(clock: CpuClock, history, n_iter: int, X_fit: np.ndarray) -> Result:
    """The floor table's figures of a linclass fit: CPU per wall second, the evaluation's
    seconds (``history.eval_time``, outside ``wall_time``) and the rows handed to fit."""
    return dict(cpu_per_wall=median(clock.ratios), eval_s=float(history.eval_time[-1]),
                input_mb=X_fit.nbytes / 1e6, steps_s=float(history.wall_time[-1]),
                rss_before_fit_mb=getattr(clock, "rss_before_mb", None))


class PixelTransform:
    """``x -> x / 255 - mean``: uint8 rows to centred float32 features, into ``out=``.

    The fit loop passes a reused buffer as ``out``, so a batch costs one uint8 -> float32
    cast and two in-place passes, and allocates nothing.
    """

    def __init__(self, X_train: np.ndarray) -> None:
        from linclass.features import Preprocessor

        self.mean = Preprocessor(center="mean").fit(X_train).mean_ / np.float32(255)
        self.tiled = self.mean[None, :]

    def __call__(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        flat = rows.reshape(rows.shape[0], -1)
        out = np.empty(flat.shape, np.float32) if out is None else out
        np.copyto(out, flat)  # the cast alone is a fast SIMD loop; a casting multiply is not
        out *= np.float32(1 / 255)
        if self.tiled.shape[0] < out.shape[0]:  # a full-shape operand: 2x faster than a row
            self.tiled = np.tile(self.mean, (out.shape[0], 1))
        out -= self.tiled[: out.shape[0]]
        return out


def as_images(X: np.ndarray) -> np.ndarray:
    """Rows (n, D) as the (n, 1, D) "images" a feature pipeline takes (a view)."""
    return X.reshape(X.shape[0], 1, -1)


def _linclass(loss: str, optimizer: str = "momentum") -> Callable[[Data, int], Result]:
    """linclass's fit on uint8 rows converted per batch (the tuned settings), or with
    ``optimizer="gd"`` a few full-batch gradient steps, timed per step."""

    def run(data: Data, repeats: int) -> Result:
        from linclass.features import FeaturePipeline
        from linclass.grad import make_value_and_grad
        from linclass.model import init_params, predict
        from linclass.training import fit

        cfg = TUNED[loss]
        gd = optimizer == "gd"
        epochs = GD_STEPS if gd else cfg["epochs"]
        vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=cfg["alpha"])

        def train():
            # ImageClassifier's path: the raw-pixel pipeline (its mean image is part of the
            # fit), whose batch_transform lets the loop fold the preprocessing into W.
            pipeline = FeaturePipeline().fit(as_images(data.X_train))
            transform = pipeline.batch_transform
            params = init_params(data.X_train.shape[1], data.n_classes, dtype=np.float32)
            settings = (dict(learning_rate=0.5) if gd else
                        dict(learning_rate=cfg["learning_rate"], schedule=cfg["schedule"],
                             optimizer_kwargs={"momentum": cfg["mu"]},
                             batch_size=cfg["batch_size"]))
            return transform, fit(params, as_images(data.X_train), data.y_train, value_and_grad=vg,
                                  optimizer=optimizer, max_epochs=epochs, eval_every=epochs,
                                  transform=transform, progress=False, **settings)

        clock = CpuClock(train)
        times, (transform, result) = repeat_timed(clock, repeats)
        acc = float(np.mean(predict(result.params, transform(as_images(data.X_test)))
                            == data.y_test))
        what = ("full-batch gradient descent, lr 0.5" if gd else
                f"momentum mu={cfg['mu']}, lr={cfg['learning_rate']} {cfg['schedule']}, "
                f"batch {cfg['batch_size']}")
        return dict(fit_s=times, test_accuracy=acc, epochs=result.n_iter,
                    epoch_s=result.history.wall_time[-1] / result.n_iter,
                    **_fit_figures(clock, result.history, result.n_iter, data.X_train),
                    notes=[f"{what}, alpha={cfg['alpha']}, uint8 cast per batch, "
                           "preprocessing folded into W"])

    return run


def _linclass_default(loss: str, *, dtype: str | None = None,
                      prefetch: bool = True) -> Callable[[Data, int], Result]:
    """``LinearClassifier(loss=...)`` with every other setting left at its default, on the
    same ``X / 255.0`` (float64) the scikit-learn peers get: what a new user runs.
    ``dtype="float64"``: the float64 steps of the policy before float32 became the
    default; ``prefetch=False``: no gather thread (one core), to show what it adds."""

    def run(data: Data, repeats: int) -> Result:
        import linclass.backends.numpy as numpy_backend
        from linclass import LinearClassifier

        numpy_backend.PREFETCH = prefetch and numpy_backend.PREFETCH
        X, X_test = unit_float(data.X_train), unit_float(data.X_test)
        clock = CpuClock(lambda: LinearClassifier(loss=loss, dtype=dtype, random_state=0)
                         .fit(X, data.y_train))
        times, model = repeat_timed(clock, repeats)
        h = model.history_
        steps = "float64" if dtype == "float64" else "float32"
        return dict(fit_s=times, test_accuracy=float(model.score(X_test, data.y_test)),
                    epochs=model.n_iter_, epoch_s=h.wall_time[-1] / model.n_iter_,
                    **_fit_figures(clock, h, model.n_iter_, X),
                    notes=[f"LinearClassifier(loss={loss!r}"
                           + (f", dtype={dtype!r}" if dtype else "")
                           + f") defaults on float64 X / 255 ({steps} steps, batch "
                           f"{model.settings_['batch_size']}, {model.n_iter_} epochs, "
                           + ("gather thread" if numpy_backend.PREFETCH else "no gather thread")
                           + ", training set measured at the end)"])

    return run


def _image_default(loss: str) -> Callable[[Data, int], Result]:
    """``ImageClassifier`` with ``LinearClassifier(loss=...)`` defaults on the uint8 images:
    what ``linclass train --dataset fashion-mnist`` does (mean-centred raw pixels, per-epoch
    train/validation measurements included in the time)."""

    def run(data: Data, repeats: int) -> Result:
        from linclass import ImageClassifier, LinearClassifier

        side = int(round(data.X_train.shape[1] ** 0.5))
        images = data.X_train.reshape(-1, side, side)
        test = data.X_test.reshape(-1, side, side)
        clock = CpuClock(
            lambda: ImageClassifier(classifier=LinearClassifier(loss=loss, random_state=0))
            .fit(images, data.y_train, progress=False))
        times, model = repeat_timed(clock, repeats)
        clf = model.classifier_
        s = clf.settings_  # the defaults as resolved for this data
        return dict(fit_s=times, test_accuracy=float(model.score(test, data.y_test)),
                    epochs=clf.n_iter_, epoch_s=clf.history_.wall_time[-1] / clf.n_iter_,
                    **_fit_figures(clock, clf.history_, clf.n_iter_, images),
                    notes=[f"ImageClassifier + LinearClassifier(loss={loss!r}) defaults on uint8 "
                           f"images (batch {s['batch_size']}, up to {s['max_epochs']} epochs, "
                           f"lr {s['learning_rate']:g} {s['schedule']}, tol {s['tol']:g}, "
                           "training set measured at the end)"])

    return run


# --- scikit-learn -------------------------------------------------------------------------


def _sklearn(
    make: Callable[[], object], standardize: bool = False
) -> Callable[[Data, int], Result]:
    """A scikit-learn estimator on pixels / 255 (float64, as ``X / 255.0`` gives), or on
    standardized pixels (the scaler's fit counted in the fit time)."""

    def run(data: Data, repeats: int) -> Result:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X, X_test = unit_float(data.X_train), unit_float(data.X_test)
        caught: list[str] = []

        def train():
            model = make_pipeline(StandardScaler(), make()) if standardize else make()
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(X, data.y_train)
            caught.extend(str(w.message).splitlines()[0] for w in ws
                          if issubclass(w.category, ConvergenceWarning))
            return model

        times, model = repeat_timed(train, repeats)
        est = model[-1] if standardize else model
        n_iter = int(np.max(est.n_iter_))
        notes = [repr(est)] + (["ConvergenceWarning: " + caught[0]] if caught else [])
        return dict(fit_s=times, test_accuracy=float(model.score(X_test, data.y_test)),
                    epochs=n_iter, epoch_s=median(times) / n_iter, notes=notes)

    return run


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1)  # lbfgs, multinomial, max_iter=100: the defaults


def _logreg_converged():
    from sklearn.linear_model import LogisticRegression

    # What a user does after the defaults' ConvergenceWarning: let lbfgs finish (~315
    # iterations at C=0.1, benchmarks/ACCURACY.md); the "51 s to 0.846".
    return LogisticRegression(C=0.1, max_iter=1000)


def _linear_svc():
    from sklearn.svm import LinearSVC

    return LinearSVC(C=0.1)


def _sgd(loss: str) -> Callable[[], object]:
    def make():
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss=loss, random_state=0)

    return make


# --- PyTorch --------------------------------------------------------------------------------


def _torch(loss: str) -> Callable[[Data, int], Result]:
    """``nn.Linear`` trained like the tuned linclass run: same centred data, init scale,
    loss, L2 (on W only), batch size, momentum, schedule and epochs."""

    def run(data: Data, repeats: int) -> Result:
        import torch

        from linclass.optim import schedule_for_run

        torch.set_num_threads(n_cores())
        cfg = TUNED[loss]
        X = torch.from_numpy(unit_float(data.X_train, np.float32))
        mean = X.mean(dim=0)
        X -= mean
        X_test = torch.from_numpy(unit_float(data.X_test, np.float32)) - mean
        y = torch.from_numpy(data.y_train)
        n, d = X.shape
        C, B, epochs = data.n_classes, cfg["batch_size"], cfg["epochs"]
        lr = schedule_for_run(cfg["schedule"], cfg["learning_rate"], epochs * -(-n // B))
        if loss == "softmax":
            criterion = torch.nn.CrossEntropyLoss()
        else:
            # MultiMarginLoss divides the Weston-Watkins sum by C; times C it is linclass's.
            margin_loss = torch.nn.MultiMarginLoss()

            def criterion(s, t):
                return margin_loss(s, t) * C

        epoch_times: list[float] = []

        def train():
            torch.manual_seed(0)
            model = torch.nn.Linear(d, C)
            with torch.no_grad():
                model.weight.normal_(0.0, 1e-3)
                model.bias.zero_()
            # linclass's R = alpha ||W||^2 has gradient 2 alpha W; the bias is not penalised.
            opt = torch.optim.SGD([
                {"params": [model.weight], "weight_decay": 2 * cfg["alpha"]},
                {"params": [model.bias], "weight_decay": 0.0},
            ], lr=cfg["learning_rate"], momentum=cfg["mu"])
            step = 0
            epoch_times.clear()
            for _ in range(epochs):
                start = time.perf_counter()
                order = torch.randperm(n)
                for i in range(0, n, B):
                    rows = order[i:i + B]
                    for group in opt.param_groups:
                        group["lr"] = lr(step)
                    opt.zero_grad(set_to_none=True)
                    criterion(model(X[rows]), y[rows]).backward()
                    opt.step()
                    step += 1
                epoch_times.append(time.perf_counter() - start)
            return model

        times, model = repeat_timed(train, repeats)
        with torch.no_grad():
            acc = float((model(X_test).argmax(dim=1).numpy() == data.y_test).mean())
        return dict(fit_s=times, test_accuracy=acc, epochs=epochs,
                    epoch_s=median(epoch_times),
                    notes=[f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
                           "SGD momentum (v = mu v + g form)"])

    return run


#: name -> (function, family for the ratio column, expected seconds on the full data).
CONTENDERS: dict[str, tuple[Callable[[Data, int], Result], str, float]] = {
    "blas-bound": (blas_bound, "bound", 5),
    "linclass-softmax": (_linclass("softmax"), "softmax", 1),
    "linclass-svm": (_linclass("svm"), "svm", 1),
    "linclass-gd": (_linclass("softmax", optimizer="gd"), "gd", 2),
    "linclass-softmax-default": (_linclass_default("softmax"), "softmax", 10),
    "linclass-svm-default": (_linclass_default("svm"), "svm", 10),
    "linclass-softmax-default-float64": (_linclass_default("softmax", dtype="float64"),
                                         "softmax", 10),
    "linclass-softmax-default-1core": (_linclass_default("softmax", prefetch=False),
                                       "softmax", 10),
    "linclass-image-softmax-default": (_image_default("softmax"), "softmax", 5),
    "linclass-image-svm-default": (_image_default("svm"), "svm", 5),
    "sklearn-logreg": (_sklearn(_logreg), "softmax", 20),
    "sklearn-logreg-converged": (_sklearn(_logreg_converged), "softmax", 51),
    "sklearn-linearsvc": (_sklearn(_linear_svc), "svm", 75),
    "sklearn-sgd-hinge": (_sklearn(_sgd("hinge"), standardize=True), "svm", 200),
    "sklearn-sgd-log": (_sklearn(_sgd("log_loss"), standardize=True), "softmax", 200),
    "torch-softmax": (_torch("softmax"), "softmax", 3),
    "torch-svm": (_torch("svm"), "svm", 3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one benchmark contender.")
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--repeat-data", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_data(args.dataset, n_train=args.n_train, repeat=args.repeat_data)
    result = CONTENDERS[args.name][0](data, args.repeats)
    result.update(name=args.name, dataset=data.name, n_train=int(data.X_train.shape[0]),
                  peak_rss_mb=peak_rss_mb(), data_mb=data.X_train.nbytes / 1e6)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
