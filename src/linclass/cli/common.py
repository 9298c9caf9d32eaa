"""What the commands share: option parsing, data and model loading, one error boundary.

Every command runs its work inside :func:`cli_errors`, so a user mistake (a missing file,
a bad model file, a learning rate that diverges) ends as one line ``error: ...`` on
stderr and exit status 1, never a traceback. Usage mistakes (an unknown ``--loss``, a
malformed number list) are typer's ``BadParameter`` and exit with status 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from linclass.status import INTERRUPTED_STATUS

# linclass.cli.options reads the records (NumPy with the loss records): imported where
# used, so that `linclass cache info` and `--help` load no NumPy (tests/test_startup.py).

# The library is imported where it is used, not here: every command imports this module,
# and ``linclass explain`` or ``linclass cache info`` must not pay for scikit-learn,
# Pillow or the data loaders (tests/test_startup.py); ``cache info`` not even for NumPy.
if TYPE_CHECKING:
    from typing import TypeAlias

    import numpy as np

    from linclass.data import Dataset, Embeddings
    from linclass.estimators.classifier import LinearClassifier
    from linclass.estimators.image import ImageClassifier
    from linclass.features import FeaturePipeline
    from linclass.training import TrainingDivergedError

# --- the error boundary -------------------------------------------------------------------

#: The errors a user can cause, besides ``ValueError`` and ``OSError``: ``(package, class)``.
#: A package that was never imported cannot have raised its error, so the boundary looks
#: them up in ``sys.modules`` instead of importing the library to catch them.
LIBRARY_ERRORS = (("linclass.data", "DataError"), ("linclass.io.persist", "ModelFileError"),
                  ("linclass.training", "TrainingDivergedError"))


def _loaded_error(package: str, name: str) -> type[BaseException] | None:
    module = sys.modules.get(package)
    return getattr(module, name, None) if module is not None else None


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception classes :func:`cli_errors` turns into one ``error: ...`` line."""
    loaded = (_loaded_error(package, name) for package, name in LIBRARY_ERRORS)
    return (*(e for e in loaded if e is not None), FileExistsError, ValueError, OSError)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (one line) to stderr and return the Exit(code) to raise."""
    typer.echo("error: " + " ".join(str(message).split()), err=True)
    return typer.Exit(code=code)


def user_error(exc: BaseException) -> str | None:
    """The ``error:`` line's message for an exception a user can cause, None for a bug.

    Besides :func:`user_errors`: a Dask cluster that failed the fit (Dask's own
    exceptions included: a worker given up on, a lost scheduler;
    :func:`linclass.backends.dask.cluster_error`) and data that could not be read (an
    exception raised inside zarr or its codecs: a damaged chunk, say).
    """
    if "distributed" in sys.modules:  # only then can a cluster have failed
        from linclass.backends.dask import cluster_error

        cluster = cluster_error(exc)
        if cluster is not None:
            return str(cluster)
    if isinstance(exc, user_errors()):
        return str(exc) or type(exc).__name__
    if isinstance(exc, Exception) and _raised_in(exc, ("zarr", "numcodecs")):
        # zarr reads on an event loop of its own; asyncio would report the reads the
        # failed one left pending as the program exits, after the error line
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        return f"the data could not be read (a damaged zarr store?): {exc}"
    return None


def _raised_in(exc: BaseException, packages: tuple[str, ...]) -> bool:
    """Whether a frame of ``exc``'s traceback (a worker's too, Dask sends it along) is
    in one of ``packages``."""
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0] in packages:
            return True
        tb = tb.tb_next
    return False


@contextlib.contextmanager
def cli_errors() -> Iterator[contextlib.ExitStack]:
    """Turn the errors a user can cause (:func:`user_error`) into one line on stderr and
    exit status 1; a Ctrl-C (or SIGTERM, see :mod:`linclass.console`) into ``error:
    interrupted`` and status 130, as at start-up.

    Usage errors (typer's) and ``typer.Exit`` pass through untouched. Yields an
    ``ExitStack``: what a command enters into it (a claimed run folder) is closed first,
    whatever ends the command.
    """
    try:
        with contextlib.ExitStack() as scope:
            yield scope
    except (typer.Exit, typer.Abort, typer.BadParameter):  # usage errors are typer's
        raise
    except KeyboardInterrupt:
        raise fail("interrupted", INTERRUPTED_STATUS) from None
    except BaseException as exc:  # noqa: BLE001 (Dask's CancelledError is a BaseException)
        # (a command that knows more about a divergence catches it first and says more)
        diverged = _loaded_error("linclass.training", "TrainingDivergedError")
        if diverged is not None and isinstance(exc, diverged):
            raise fail(diverged_message(cast("TrainingDivergedError", exc))) from None
        if isinstance(exc, FileExistsError):
            from linclass.cli.options import in_cli_words

            text = in_cli_words(str(exc))
            raise fail(text if "--force" in text else f"{text}; pass --force to overwrite"
                       ) from None
        message = user_error(exc)
        if message is None:
            raise
        raise fail(message) from None


def diverged_message(exc: TrainingDivergedError) -> str:
    """The divergence message with the CLI's flags (``--lr``, ``--alpha``) for the options."""
    from linclass.cli.options import FLAGS

    return exc.describe(FLAGS) + "; no model was kept"


# --- option parsing -----------------------------------------------------------------------


def positive(value: float | None) -> float | None:
    """Option callback: a number > 0 (None passes: the estimator's default)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be > 0, got {value}")
    return value


def fraction(value: float) -> float:
    """Option callback: a number strictly between 0 and 1."""
    if not 0.0 < value < 1.0:
        raise typer.BadParameter(f"must lie strictly between 0 and 1, got {value}")
    return value


def utf8_text(value: Any) -> Any:
    """Option callback: a name or path that is UTF-8 text (the run's model file and
    metrics store it), refused before any work instead of after the fit."""
    if value is not None:
        try:
            str(value).encode("utf-8")
        except UnicodeEncodeError:
            shown = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise typer.BadParameter(f"{shown!r} is not valid UTF-8 text (the run's files "
                                     "record it); rename it") from None
    return value


def parse_features(value: str) -> tuple[str, ...]:
    """``"hog+hist"`` -> ``("hog", "hist")``; each part must be a feature kind."""
    from linclass.features.extract import KINDS

    kinds = tuple(part.strip() for part in value.split("+"))
    bad = [k for k in kinds if k not in KINDS]
    if bad or len(set(kinds)) != len(kinds):
        raise typer.BadParameter(
            f"{value!r}: give kinds from {', '.join(KINDS)} joined by '+', e.g. hog+hist",
            param_hint="--features",
        )
    return kinds


def parse_floats(value: str, option: str) -> list[float]:
    """``"0.01,0.1,1"`` -> ``[0.01, 0.1, 1.0]``; finite numbers only."""
    try:
        numbers = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a comma-separated list of numbers",
                                 param_hint=option) from None
    if not numbers or not all(math.isfinite(v) for v in numbers):
        raise typer.BadParameter(f"{value!r}: give one or more finite numbers",
                                 param_hint=option)
    return numbers


def parse_image_size(value: str | None) -> tuple[int, int] | None:
    """``"32"`` -> ``(32, 32)``, ``"24x32"`` -> ``(24, 32)`` (height x width)."""
    if value is None:
        return None
    parts = value.lower().replace(",", "x").split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or not all(1 <= v <= 4096 for v in size):
        raise typer.BadParameter(f"{value!r}: give N or HxW, each in [1, 4096], e.g. 32 or "
                                 "24x32", param_hint="--image-size")
    return size[0], size[1]


def build_model(options: dict[str, Any], features: str, standardize: bool, *, seed: int,
                quiet: bool) -> tuple[FeaturePipeline, LinearClassifier]:
    """The feature pipeline and the classifier a training command's options describe.

    Options left unset keep the estimator's defaults; one set where the chosen loss,
    penalty, optimizer or feature kinds do not use it is a usage error naming its flag.
    """
    from linclass.cli.options import FEATURES as FEATURE_PARAMS
    from linclass.cli.options import FLAGS, check_owned
    from linclass.estimators.classifier import LinearClassifier
    from linclass.estimators.params import ESTIMATOR_PARAMS
    from linclass.estimators.plan import check as check_plan

    kinds = parse_features(features)
    selected = {"loss": options["loss"], "penalty": options["penalty"],
                "optimizer": options["optimizer"], "gradient": options["gradient"],
                "features": kinds}
    check_owned(options, selected)
    clf_options = {k: v for k, v in options.items() if k in ESTIMATOR_PARAMS and v is not None}
    if "tol" in options:  # None is a value here: --tol none turns the stop off
        clf_options["tol"] = options["tol"]
    clf = LinearClassifier(**clf_options, random_state=seed, verbose=not quiet)
    try:  # e.g. n_elite >= population_size, before any loading, in the CLI's words
        check_plan(clf.get_params(), spell=FLAGS)
    except ValueError as e:
        raise typer.BadParameter(" ".join(str(e).split())) from None
    feature_options = {k: options[k] for k in FEATURE_PARAMS if options.get(k) is not None}
    return make_pipeline(features, standardize, **feature_options), clf


@contextlib.contextmanager
def warnings_as_lines(quiet: bool) -> Iterator[None]:
    """Show the library's warnings (a ConvergenceWarning, say) as one ``warning: ...`` line
    each on stderr, once, in the CLI's words (:func:`in_cli_words`), instead of Python's
    two-line form with a source line.

    The app wraps every command in one (``linclass.cli``); a command with ``--quiet``
    wraps its work in another that drops them. Warnings of worker processes are sent to
    the parent and warned again there (``linclass search``). Deprecation warnings are for
    developers, not for users of the command line, and stay hidden.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield
    if quiet:
        return
    if caught:
        from linclass.cli.options import in_cli_words
    seen: set[str] = set()
    for w in caught:
        text = in_cli_words(" ".join(str(w.message).split()))
        if text not in seen:
            seen.add(text)
            typer.echo(f"warning: {text}", err=True)


def make_pipeline(features: str, standardize: bool, **feature_options: int) -> FeaturePipeline:
    """The feature pipeline for ``--features``, its parameters and ``--standardize``,
    mean-centred. Square HOG cells and blocks take one number (``--hog-pixels-per-cell 2``),
    as :class:`FeatureExtractor` does. The user's feature cache (``linclass cache``)
    computes each image set's features once."""
    from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor, default_cache

    try:
        cache = default_cache()
    except ValueError as exc:  # a bad LINCLASS_CACHE_MAX_MB
        raise fail(str(exc)) from None
    return FeaturePipeline(FeatureExtractor(kinds=parse_features(features), **feature_options),
                           Preprocessor(center="mean", standardize=standardize), cache=cache)


# --- data ---------------------------------------------------------------------------------

def dataset_help() -> str:
    """The help text of ``--dataset``: the dataset names, or a path."""
    from linclass.data.registry import DATASETS

    return (f"A dataset name ({', '.join(DATASETS)}) or a path: a folder with one "
            "subfolder of images per class, a CIFAR or IDX folder, or an .npz file.")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Which data a run used, enough to load the same splits again (``linclass plot``).

    The test split of data without an official one (digits, folders) is the loader's
    fixed default, independent of ``seed``, so ``evaluate`` sees the same test images.
    """

    dataset: str
    data_dir: str | None = None
    limit: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    image_size: tuple[int, int] | None = None
    color_mode: str = "auto"
    skip_bad: bool = False

    def to_dict(self) -> dict[str, Any]:
        """As JSON-ready dict (written to metrics.json)."""
        return dict(dataset=self.dataset, data_dir=self.data_dir, limit=self.limit,
                    val_fraction=self.val_fraction, seed=self.seed,
                    image_size=None if self.image_size is None else list(self.image_size),
                    color_mode=self.color_mode, skip_bad=self.skip_bad)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSpec:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, dict) or not isinstance(d.get("dataset"), str):
            raise ValueError("the run's metrics.json does not say which dataset it used")
        fields = {k: d[k] for k in ("dataset", "data_dir", "limit", "val_fraction", "seed",
                                    "image_size", "color_mode", "skip_bad") if k in d}
        if fields.get("image_size") is not None:
            fields["image_size"] = tuple(fields["image_size"])
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Splits:
    """Training, validation and test images with labels, and the dataset they came from.

    For a folder of embeddings the rows stay on disk: ``X_train`` and ``X_val`` are
    :class:`~linclass.data.embeddings.RowSubset`s of its training rows.
    """

    data: Dataset | Embeddings
    X_train: Any
    y_train: np.ndarray
    X_val: Any
    y_val: np.ndarray




def load_data(dataset: str, data_dir: str | os.PathLike | None = None,
              image_size: tuple[int, int] | None = None, color_mode: str = "auto",
              skip_bad: bool = False) -> Dataset:
    """:func:`linclass.data.load_dataset` with the CLI's ``--dataset`` / ``--data`` /
    ``--image-size`` / ``--color-mode`` / ``--skip-bad``; its errors and warnings (the
    skipped files, say, shown at once, before any training) name those options instead of
    the Python arguments."""
    from linclass.data import DataError, Dataset, load_dataset

    if data_dir is not None and not Path(data_dir).is_dir():
        raise DataError(data_dir, "--data must be a folder")
    folder_only = {"color_mode": None if color_mode == "auto" else color_mode,
                   "on_error": "skip" if skip_bad else "raise"}
    try:
        with warnings_as_lines(quiet=False):
            data = load_dataset(dataset, None if data_dir is None else Path(data_dir),
                                image_size=image_size, **folder_only)  # type: ignore[arg-type]
    except DataError as e:
        from linclass.cli.options import in_cli_words

        raise DataError(e.path, in_cli_words(e.problem)) from None
    except ValueError as e:  # an image option given for a dataset that is not a folder
        from linclass.cli.options import in_cli_words

        raise ValueError(in_cli_words(str(e))) from None
    if not isinstance(data, Dataset):  # a folder of embeddings: see load_splits
        raise DataError(dataset, "a folder of embeddings, not images: train a model on it "
                        "(linclass train), then evaluate or plot that run")
    return data


def stratified_subset(X: np.ndarray, y: np.ndarray, n: int, seed: int, n_classes: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training images drawn at random, every class in proportion (``--limit``).

    Raises:
        DataError: When ``n`` is too small to hold each class at least twice (once for
            training, once for validation).
    """
    import numpy as np

    from linclass.data import DataError

    if n < 2 * n_classes:
        raise DataError("--limit", f"{n} is too small for {n_classes} classes: give at "
                        f"least {2 * n_classes} (two images per class)")
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    idx.sort()  # keep the dataset's order, so a limit is a subset and not a shuffle
    return X[idx], y[idx]


def load_splits(spec: DataSpec) -> Splits:
    """Load the data, keep a stratified, seeded ``limit`` of the training images, hold out
    a validation set.

    The validation set is a stratified, seeded ``val_fraction`` of the training images
    (or rows, for a folder of embeddings: the same split, rows left on disk); the test set
    is left alone. Every command that needs a run's own split (``train``, ``plot``,
    ``evaluate --split train/val``) gets it here.
    """
    import numpy as np

    from linclass.data import load_embeddings, train_val_split
    from linclass.data.embeddings import check_test_rows, is_embeddings_folder, split_rows

    if is_embeddings_folder(Path(spec.dataset)):
        ds = load_embeddings(spec.dataset)
        check_test_rows(ds)  # NaN in the test rows: before the fit, not after it
        return Splits(ds, *split_rows(ds, spec.val_fraction, spec.seed))
    data = load_data(spec.dataset, spec.data_dir, spec.image_size, spec.color_mode,
                     spec.skip_bad)
    X, y = data.X_train, data.y_train
    if spec.limit is not None and spec.limit < len(y):
        X, y = stratified_subset(X, y, spec.limit, spec.seed, data.n_classes)
    X_train, X_val, y_train, y_val = train_val_split(X, y, spec.val_fraction, spec.seed)
    # The split copied the training images; drop the unsplit ones (47 MB for
    # Fashion-MNIST) instead of carrying them next to their copies.
    none = np.empty((0, *data.image_shape), dtype=data.X_train.dtype)
    data = dataclasses.replace(data, X_train=none, y_train=np.empty(0, dtype=np.int64))
    return Splits(data, X_train, y_train, X_val, y_val)


# --- options shared by train and search (one definition, one help text) ---------------------

DATA_OPTION = typer.Option(None, "--data", callback=utf8_text,
                           help="Folder holding a named dataset's files.")
LIMIT_OPTION = typer.Option(None, min=2, max=2**31 - 1,
                            help="Use only N training images, drawn at random with every "
                            "class in proportion (seeded by --seed).")
IMAGE_SIZE_OPTION = typer.Option(None, "--image-size", metavar="N|HxW",
                                 help="Resize every image of a folder dataset to N x N (or "
                                 "H x W) pixels.")
COLOR_MODE_OPTION = typer.Option(
    "auto", "--color-mode", help="Colour mode of a folder dataset's images: gray, rgb, or "
    "auto (grey if every image is grey, else RGB, with a warning when grey and colour are "
    "mixed).")
SKIP_BAD_OPTION = typer.Option(
    False, "--skip-bad", help="Leave unreadable image files out (one warning lists them) "
    "instead of stopping at the first.")
FEATURES_OPTION = typer.Option("raw", help="raw, hog, hist, or kinds joined by '+', "
                               "e.g. hog+hist.")
STANDARDIZE_OPTION = typer.Option(False, "--standardize/--no-standardize",
                                  help="Divide each feature by its training std (after "
                                  "subtracting the mean image).")
SEED_OPTION = typer.Option(0, min=0, max=2**32 - 1, help="Seed of the validation split, "
                           "--limit, initialization, batch order and the searches.")
VAL_FRACTION_OPTION = typer.Option(0.1, callback=fraction,
                                   help="Fraction of the training images held out for "
                                   "validation.")
OUT_OPTION = typer.Option(Path("runs"), help="Folder that receives the run folder.")
NAME_OPTION = typer.Option(None, callback=utf8_text, help="Run folder name.",
                           show_default="the next free NNN")
FORCE_OPTION = typer.Option(False, "--force", help="Overwrite an existing --name run.")
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="No progress bar or messages; only "
                            "the final results.")


# --- models -------------------------------------------------------------------------------


def load_model(path: str | os.PathLike) -> ImageClassifier:
    """An :class:`ImageClassifier` from a model file (verified; never unpickled)."""
    from linclass.estimators.image import ImageClassifier

    return ImageClassifier.load(path)


@dataclasses.dataclass(frozen=True)
class ProbeModel:
    """A run's classifier of embedding rows (a linear probe), with what the commands that
    score and draw a run read from an :class:`ImageClassifier`: the fitted classifier, its
    class names and the model file's metadata. Its features are the rows themselves."""

    classifier_: LinearClassifier
    class_names: list[str] | None
    meta: dict[str, Any]

    def transform(self, X: Any, progress: bool | None = None) -> np.ndarray:
        """Rows as float features (``progress`` is ignored: there is nothing to extract)."""
        from linclass.training.arrays import float_rows

        return float_rows(X)


if TYPE_CHECKING:
    #: A trained run's model: images in, or rows of embeddings in.
    RunModel: TypeAlias = ImageClassifier | ProbeModel


def load_run_model(path: str | os.PathLike) -> RunModel:
    """The model of a ``linclass train`` run, on images or on a folder of embeddings."""
    from linclass.estimators.classifier import LinearClassifier
    from linclass.estimators.image import ImageClassifier

    clf, meta, _ = LinearClassifier.load_with_meta(path)
    if (meta.get("input") or {}).get("features") is not None:
        return ImageClassifier.load(path)
    names = meta.get("class_names")
    return ProbeModel(clf, [str(n) for n in names] if isinstance(names, list) else None, meta)


def class_names_of(model: RunModel) -> list[str]:
    """The name of each column of the model's scores, in ``classes_`` order."""
    import numpy as np

    classes = model.classifier_.classes_
    names = model.class_names
    if names and all(isinstance(c, (int, np.integer)) and 0 <= c < len(names) for c in classes):
        return [str(names[int(c)]) for c in classes]
    return [str(c) for c in classes]


def all_scores(model: RunModel, X: np.ndarray) -> np.ndarray:
    """The full score matrix ``X W^T + b`` of feature rows, shape (n, n_classes).

    ``decision_function`` folds two classes into one column, as scikit-learn expects; the
    lecture's pictures and tables want one score per class.
    """
    import numpy as np

    from linclass.model import scores

    clf = model.classifier_
    S = scores({"W": clf.coef_, "b": clf.intercept_}, np.asarray(X))
    if not np.isfinite(S).all():
        raise ValueError("the model's scores overflow on these images (its weights or "
                         "preprocessing statistics are too large); retrain it")
    return S


def objective_kwargs(clf: LinearClassifier) -> dict[str, Any]:
    """Loss, penalty and their arguments as :func:`linclass.objective.objective_value` takes
    them, from the estimator itself so the pictures show the objective it trained on."""
    return clf.objective_params()  # one home for that mapping: the estimator


def write_json(path: Path, obj: Any, *, force: bool = False) -> Path:
    """Write JSON atomically; NaN and inf become null (they are not JSON)."""
    from linclass.io.fileio import atomic_write_text

    return atomic_write_text(path, json.dumps(json_safe(obj), indent=2) + "\n", force=force)


def json_safe(obj: Any) -> Any:
    """Replace NaN/inf by None and NumPy scalars/arrays by Python ones, recursively."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def check_input(model: RunModel, data: Dataset | Embeddings) -> None:
    """Refuse data the model cannot score: images of another shape than it was trained
    on, rows of another width, or images for a probe and rows for an image model."""
    from linclass.data import Dataset, Embeddings
    from linclass.estimators.image import ImageClassifier

    if isinstance(model, ProbeModel) != isinstance(data, Embeddings):
        kind = "a folder of embeddings" if isinstance(data, Embeddings) else "images"
        raise ValueError(f"{data.name} is {kind}, but the model was trained on "
                         f"{'embeddings' if isinstance(model, ProbeModel) else 'images'}")
    if isinstance(model, ProbeModel) and isinstance(data, Embeddings):
        if data.n_features != model.classifier_.n_features_in_:
            raise ValueError(f"{data.name} has rows of {data.n_features} features but the "
                             f"model takes {model.classifier_.n_features_in_}")
    elif isinstance(model, ImageClassifier) and isinstance(data, Dataset):
        check_image_shape(model, data.image_shape, data.name)


def check_image_shape(model: ImageClassifier, shape: Sequence[int], where: str) -> None:
    """Refuse data whose images are not the shape the model was trained on."""
    if tuple(shape) != tuple(model.image_shape):
        raise ValueError(f"{where} has images of shape {tuple(shape)} but the model takes "
                         f"{tuple(model.image_shape)}")


def check_png_target(path: Path, *, force: bool) -> None:
    """Check a picture destination before the work that draws it."""
    from linclass.io.fileio import check_writable

    if path.suffix.lower() != ".png":
        raise typer.BadParameter(f"{path} must end in .png", param_hint="--plot")
    if not path.parent.is_dir():
        raise ValueError(f"{path.parent} is not a folder")
    check_writable(path, force=force)
