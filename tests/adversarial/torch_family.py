"""Adversarial cases of the PyTorch backend's data path (issue 29, item 5): rows on disk,
odd dtypes and layouts, devices that are not here, options it does not run. Handled: the
fit trains as it should, or refuses with a ValueError saying what to do, before reading
the rows whole.

    python tests/adversarial/torch_family.py

The fast regression tests are in tests/test_backends_torch.py.
"""

from __future__ import annotations

import sys

import numpy as np
import torch  # noqa: F401 (the family needs it)
from runtime_harness import main, one_error_line, run_cli, scratch

from linclass import LinearClassifier

TMP = scratch("torch")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(600, 6)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def memmap(name: str, a: np.ndarray) -> np.ndarray:
    np.save(TMP / f"{name}.npy", a)
    return np.load(TMP / f"{name}.npy", mmap_mode="r")


def refused(fn, *words: str) -> tuple[bool, str]:
    try:
        fn()
    except ValueError as e:
        text = " ".join(str(e).split())
        missing = [w for w in words if w not in text]
        return not missing, (f"missing {missing}: " if missing else "") + text[:110]
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"[:150]
    return False, "accepted"


def trains(fn, floor: float = 0.8) -> tuple[bool, str]:
    try:
        score = fn()
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"[:150]
    return score >= floor, f"accuracy {score:.3f}"


def torch_clf(**kw):
    return LinearClassifier(backend="torch", max_epochs=5, random_state=0, **kw)


def case_memmap_on_cpu():
    Xm = memmap("X", X)
    return refused(lambda: torch_clf().fit(Xm, Y), "backend='numpy'", "on disk")


def case_memmap_float16_on_cpu():
    Xm = memmap("X16", X.astype(np.float16))
    return refused(lambda: torch_clf().fit(Xm, Y), "backend='numpy'")


def case_memmap_uint8_on_cpu():
    Xm = memmap("X8", np.clip(X * 40 + 128, 0, 255).astype(np.uint8))
    return refused(lambda: torch_clf().fit(Xm, Y), "backend='numpy'")


def case_zarr_on_cpu():
    import zarr

    z = zarr.create_array(store=str(TMP / "X.zarr"), shape=X.shape, chunks=(100, 6),
                          dtype=X.dtype)
    z[:] = X
    return refused(lambda: torch_clf().fit(z, Y), "backend='numpy'")


def case_memmap_validation_set_on_cpu():
    """Refused, or read into memory by the estimator before the backend sees it."""
    Xv = memmap("Xv", X[:100])
    try:
        score = torch_clf().fit(X, Y, validation_data=(Xv, Y[:100])).score(X, Y)
    except ValueError as e:
        return "backend='numpy'" in str(e), " ".join(str(e).split())[:110]
    return score > 0.8, f"trained ({score:.3f}): the estimator reads a validation set into memory"


def case_refused_before_copying_the_rows():
    import tracemalloc

    big = memmap("big", np.zeros((200_000, 128), np.float32))  # 100 MB on disk
    tracemalloc.start()
    ok, detail = refused(lambda: torch_clf().fit(big, np.arange(200_000) % 2),
                         "backend='numpy'")
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if peak > 60:
        return False, f"{peak:.0f} MB allocated before the refusal"
    return ok, f"peak {peak:.0f} MB allocated (the rows are 100 MB); {detail}"


def case_numpy_backend_reads_the_memmap():
    Xm = memmap("Xn", X)
    return trains(lambda: LinearClassifier(max_epochs=5).fit(Xm, Y).score(X, Y))


def case_in_memory_copy_trains():
    Xm = memmap("Xc", X)
    return trains(lambda: torch_clf().fit(np.array(Xm), Y).score(X, Y))


def case_float64_trains():
    return trains(lambda: torch_clf().fit(X.astype(np.float64), Y).score(X, Y))


def case_float16_in_memory_trains():
    return trains(lambda: torch_clf().fit(X.astype(np.float16), Y).score(X, Y))


def case_fortran_order_trains():
    return trains(lambda: torch_clf().fit(np.asfortranarray(X), Y).score(X, Y))


def case_minibatch_sgd_trains():
    return trains(lambda: torch_clf(optimizer="sgd", batch_size=32).fit(X, Y).score(X, Y))


def case_string_labels_train():
    labels = np.where(Y == 1, "cat", "dog")
    return trains(lambda: torch_clf().fit(X, labels).score(X, labels))


def case_image_pipeline_with_hog():
    from linclass import load_dataset
    from linclass.estimators.image import ImageClassifier
    from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor

    d = load_dataset("digits")
    model = ImageClassifier(FeaturePipeline(FeatureExtractor(kinds=("hog",)),
                                            Preprocessor(center="mean")),
                            torch_clf(), d.class_names)
    return trains(lambda: model.fit(d.X_train[:400], d.y_train[:400], progress=False)
                  .score(d.X_train[:400], d.y_train[:400]), 0.7)


def case_raw_uint8_images_folded():
    from linclass import load_dataset
    from linclass.estimators.image import ImageClassifier
    from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor

    d = load_dataset("digits")
    model = ImageClassifier(FeaturePipeline(FeatureExtractor(kinds=("raw",)),
                                            Preprocessor(center="mean", standardize=True)),
                            torch_clf(), d.class_names)
    return trains(lambda: model.fit(d.X_train[:400], d.y_train[:400], progress=False)
                  .score(d.X_train[:400], d.y_train[:400]), 0.7)


def case_absent_cuda():
    if torch.cuda.is_available():
        return True, "this machine has CUDA: nothing to refuse"
    return refused(lambda: torch_clf(device="cuda").fit(X, Y), "not available", "cpu")


def case_cuda_index_beyond_the_count():
    return refused(lambda: torch_clf(device="cuda:99").fit(X, Y), "cuda:99")


def case_device_name_that_is_none():
    return refused(lambda: torch_clf(device="gpu0").fit(X, Y), "gpu0")


def case_search_optimizer():
    return refused(lambda: torch_clf(optimizer="random_search").fit(X, Y), "numpy")


def case_lbfgs_solver():
    return refused(lambda: torch_clf(optimizer="lbfgs").fit(X, Y), "numpy")


def case_numerical_gradient():
    return refused(lambda: torch_clf(gradient="numerical").fit(X, Y), "numpy")


def case_nan_rows():
    Xn = X.copy()
    Xn[3, 2] = np.nan
    return refused(lambda: torch_clf().fit(Xn, Y), "NaN")


def case_cli_embeddings_folder_with_torch():
    folder = TMP / "emb"
    folder.mkdir(exist_ok=True)
    for name, a in {"X_train": X[:500], "y_train": Y[:500], "X_test": X[500:],
                    "y_test": Y[500:]}.items():
        np.save(folder / f"{name}.npy", a)
    run = run_cli(["train", "--quiet", "--dataset", folder, "--backend", "torch", "--device",
                   "cpu", "--out", TMP / "runs"], 120)
    return one_error_line(run, "backend='numpy'", within=90)


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(main("torch", CASES))
