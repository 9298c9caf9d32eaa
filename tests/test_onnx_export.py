"""ONNX export, checked by onnxruntime against the estimators' own methods: the same
scores (to float32 precision), labels and probabilities, for vectors and for images with
their preprocessing; HOG refused; the CLI's ``export``; skl2onnx on a Pipeline."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from linclass import LinearClassifier, LinearRegressor
from linclass.data import load_dataset
from linclass.estimators.image import ImageClassifier
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.losses.records import RECORDS

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

#: The losses a classifier trains on (every record that takes labels).
CLASSIFIER_LOSSES = [name for name, r in RECORDS.items() if "labels" in r.targets]


def run(model, x, input_name: str = "input") -> dict[str, np.ndarray]:
    """The outputs of an ONNX model (a ModelProto or a file) on ``x``, by name."""
    source = model if isinstance(model, str) else model.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {input_name: x}), strict=True))


def assert_scores_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to float32 precision: 1e-5 relative, and 1e-5 of the largest score absolute
    (a score near 0 is a difference of large terms, each rounded to float32)."""
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def assert_same_labels(actual: np.ndarray, expected: np.ndarray, S: np.ndarray) -> None:
    """The same labels, except where the two best scores tie to float32 precision."""
    top2 = np.sort(S, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-4 * np.abs(S).max()
    assert clear.mean() > 0.95
    assert_array_equal(actual[clear], expected[clear])


def fit_quietly(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few epochs, on purpose
        return estimator.fit(*args)


@pytest.fixture(scope="module")
def vectors():
    X, y = load_digits(return_X_y=True)
    return X, y  # float64, 0..16: unscaled columns


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


# --- LinearClassifier and LinearRegressor on vectors -------------------------------------

@pytest.mark.parametrize("scaling", ["auto", "none"])
@pytest.mark.parametrize("loss", CLASSIFIER_LOSSES)
def test_classifier_graph_computes_what_the_estimator_does(vectors, loss, scaling):
    X, y = vectors
    if scaling == "none":  # the plain loop's default step suits pixels in [0, 1]
        X = X / 16.0
    clf = fit_quietly(LinearClassifier(loss=loss, scaling=scaling, max_epochs=5,
                                       random_state=0), X, y)
    assert clf.score(X, y) > 0.7  # learned something: the scores are not all alike
    out = run(clf.to_onnx(), X.astype(np.float32))
    S = clf.decision_function(X)
    assert_scores_close(out["scores"], S)
    assert out["label"].dtype == np.int64
    assert_same_labels(out["label"], clf.predict(X), S)
    if RECORDS[loss].probabilities:
        assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-6)
        assert_allclose(out["probabilities"].sum(axis=1), 1, rtol=1e-6)
    else:
        assert set(out) == {"scores", "label"}  # a hinge has no probabilities to give


def test_two_classes_keep_both_scores(vectors):
    X, y = vectors
    keep = y < 2
    clf = fit_quietly(LinearClassifier(max_epochs=5, random_state=0), X[keep], y[keep] + 3)
    out = run(clf.to_onnx(), X[keep].astype(np.float32))
    assert out["scores"].shape == (keep.sum(), 2)
    # decision_function is s_1 - s_0, as scikit-learn's binary classifiers return
    assert_allclose(out["scores"][:, 1] - out["scores"][:, 0], clf.decision_function(X[keep]),
                    rtol=1e-5, atol=1e-4)
    assert_array_equal(out["label"], clf.predict(X[keep]))
    assert set(np.unique(out["label"])) == {3, 4}


def test_string_labels_come_out_as_strings(vectors):
    X, y = vectors
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = fit_quietly(LinearClassifier(loss="svm", max_epochs=5, random_state=0), X, names[y])
    model = clf.to_onnx()
    out = run(model, X.astype(np.float32))
    assert out["label"].dtype == object
    assert_same_labels(out["label"], clf.predict(X), clf.decision_function(X))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["linclass.estimator"] == "LinearClassifier"
    assert props["linclass.classes"] == '["eight", "five", "four", "nine", "one", "seven", ' \
                                        '"six", "three", "two", "zero"]'


def test_regressor_graph_predicts_what_the_estimator_does(vectors):
    X, y = vectors
    target = X[:, 20] * 3.0 - X[:, 43] + 0.5 * y + 7.0
    reg = fit_quietly(LinearRegressor(max_epochs=50, random_state=0), X, target)
    assert reg.score(X, target) > 0.99
    out = run(reg.to_onnx(), X.astype(np.float32))
    assert set(out) == {"prediction"}
    assert_scores_close(out["prediction"], reg.predict(X))


def test_unfitted_models_are_refused():
    with pytest.raises(NotFittedError):
        LinearClassifier().to_onnx()
    with pytest.raises(NotFittedError):
        ImageClassifier().to_onnx()


# --- ImageClassifier: the preprocessing in the graph ------------------------------------

@pytest.mark.parametrize("center, standardize", [("mean", False), ("mean", True),
                                                 ("none", False)],
                         ids=["mean", "standardized", "pixels-only"])
def test_image_graph_takes_raw_pixels(digits, center, standardize):
    model = fit_quietly(ImageClassifier(
        FeaturePipeline(preprocessor=Preprocessor(center=center, standardize=standardize)),
        LinearClassifier(max_epochs=3, random_state=0)), digits.X_train, digits.y_train)
    assert model.score(digits.X_test, digits.y_test) > 0.8
    images = digits.X_test
    assert images.dtype == np.uint8
    proto = model.to_onnx()
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    out = run(proto, images)
    S = model.decision_function(images)
    assert_scores_close(out["scores"], S)
    assert_same_labels(out["label"], model.predict(images), S)
    assert_allclose(out["probabilities"], model.predict_proba(images), atol=1e-6)
    # the same model on float pixels in [0, 1], as predict also takes them
    unit = (images / 255.0).astype(np.float32)
    out = run(model.to_onnx(pixels="float32"), unit)
    assert_scores_close(out["scores"], model.decision_function(unit))


def test_colour_images_flatten_in_the_pipelines_order():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60, 5, 4, 3), dtype=np.uint8)
    y = (images[:, 0, 0, 0] > 127).astype(int) + (images[:, 4, 3, 2] > 127)
    model = fit_quietly(ImageClassifier(
        FeaturePipeline(preprocessor=Preprocessor(standardize=True)),
        LinearClassifier(loss="svm", max_epochs=20, random_state=0)), images, y)
    out = run(model.to_onnx(), images)
    assert_scores_close(out["scores"], model.decision_function(images))


@pytest.mark.parametrize("kinds", [("hog",), ("raw", "hist")])
def test_hog_and_histograms_are_refused_by_name(digits, kinds):
    from linclass.export.models import UnsupportedModelError

    model = fit_quietly(ImageClassifier(
        FeaturePipeline(FeatureExtractor(kinds=kinds, hog_pixels_per_cell=(2, 2))),
        LinearClassifier(max_epochs=1, random_state=0)), digits.X_train, digits.y_train)
    with pytest.raises(UnsupportedModelError, match=re.escape("+".join(kinds))) as info:
        model.to_onnx()
    assert isinstance(info.value, ValueError) and "raw pixels" in str(info.value)
    with pytest.raises(ValueError, match="pixels must be one of"):
        fit_quietly(ImageClassifier(classifier=LinearClassifier(max_epochs=1)),
                    digits.X_train, digits.y_train).to_onnx(pixels="int8")


def test_to_onnx_writes_a_file_only_when_asked(vectors, tmp_path):
    X, y = vectors
    clf = fit_quietly(LinearClassifier(max_epochs=2, random_state=0), X, y)
    path = tmp_path / "m.onnx"
    clf.to_onnx(path)
    assert_allclose(run(str(path), X[:5].astype(np.float32))["scores"],
                    clf.decision_function(X[:5]), rtol=1e-5, atol=1e-4)
    with pytest.raises(FileExistsError, match="force"):
        clf.to_onnx(path)
    clf.to_onnx(path, force=True)


# --- the command line ---------------------------------------------------------------------

def test_cli_exports_a_trained_run(cli, cli_run, digits, tmp_path):
    from linclass.cli.common import class_names_of, load_model

    out = tmp_path / "model.onnx"
    result = cli(["export", cli_run / "model.safetensors", "--onnx", out])
    assert result.exit_code == 0, result.output
    assert "input uint8 (N, 8, 8) -> scores, label, probabilities" in result.stdout
    model = load_model(cli_run / "model.safetensors")
    got = run(str(out), digits.X_test)
    S = model.decision_function(digits.X_test)
    assert_scores_close(got["scores"], S)
    assert_same_labels(got["label"], model.predict(digits.X_test), S)
    assert_allclose(got["probabilities"], model.predict_proba(digits.X_test), atol=1e-6)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["linclass.class_names"].count('"') == 2 * len(class_names_of(model))


def test_cli_exports_vector_models_and_regressors(cli, vectors, tmp_path):
    X, y = vectors
    clf = fit_quietly(LinearClassifier(max_epochs=3, random_state=0), X, y)
    reg = fit_quietly(LinearRegressor(max_epochs=10, random_state=0), X, y.astype(float))
    for estimator, output, expected in ((clf, "scores", clf.decision_function(X)),
                                        (reg, "prediction", reg.predict(X))):
        saved = estimator.save(tmp_path / f"{type(estimator).__name__}.safetensors")
        target = saved.with_suffix(".onnx")
        result = cli(["export", saved, "--onnx", target])
        assert result.exit_code == 0, result.output
        assert f"input float32 (N, {X.shape[1]})" in result.stdout
        assert_scores_close(run(str(target), X.astype(np.float32))[output], expected)


def test_cli_refuses_to_overwrite_without_force(cli, cli_run, one_line_error, tmp_path):
    model = cli_run / "model.safetensors"
    out = tmp_path / "model.onnx"
    out.write_bytes(b"keep me")
    one_line_error(cli(["export", model, "--onnx", out]), "model.onnx", "--force")
    assert out.read_bytes() == b"keep me"
    result = cli(["export", model, "--onnx", out, "--force"])
    assert result.exit_code == 0, result.output
    assert onnx.load(str(out)).graph.output[0].name == "scores"


def test_cli_write_is_atomic(cli, cli_run, one_line_error, monkeypatch, tmp_path):
    """A write that fails half-way (the disk fills at fsync) leaves the old file as it was
    and no temporary file behind."""
    import linclass.io.fileio as fileio

    out = tmp_path / "model.onnx"
    out.write_bytes(b"old model")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full_disk)
    one_line_error(cli(["export", cli_run / "model.safetensors", "--onnx", out, "--force"]),
                   "No space left")
    assert out.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    fresh = tmp_path / "new.onnx"
    one_line_error(cli(["export", cli_run / "model.safetensors", "--onnx", fresh]))
    assert not fresh.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_cli_errors_name_the_file(cli, digits, cli_run, one_line_error, tmp_path):
    missing = tmp_path / "gone.safetensors"
    one_line_error(cli(["export", missing, "--onnx", tmp_path / "a.onnx"]), "gone.safetensors",
                   "no such model file")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes((cli_run / "model.safetensors").read_bytes()[:300])
    one_line_error(cli(["export", corrupt, "--onnx", tmp_path / "a.onnx"]), "corrupt.safetensors")
    pickled = tmp_path / "pickled.safetensors"
    pickled.write_bytes(b"\x80\x04garbage")
    one_line_error(cli(["export", pickled, "--onnx", tmp_path / "a.onnx"]), "pickle")
    hog = fit_quietly(ImageClassifier(
        FeaturePipeline(FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=(2, 2))),
        LinearClassifier(max_epochs=1, random_state=0)), digits.X_train, digits.y_train)
    saved = hog.save(tmp_path / "hog.safetensors")
    one_line_error(cli(["export", saved, "--onnx", tmp_path / "a.onnx"]), "hog", "raw")
    X, y = load_digits(return_X_y=True)
    rows = fit_quietly(LinearClassifier(max_epochs=1), X, y).save(tmp_path / "rows.safetensors")
    one_line_error(cli(["export", rows, "--onnx", tmp_path / "a.onnx", "--pixels", "float32"]),
                   "--pixels")
    assert not (tmp_path / "a.onnx").exists()
    assert cli(["export", saved, "--onnx", tmp_path / "a.onnx", "--pixels", "int8"]
               ).exit_code == 2
    assert cli(["export", saved]).exit_code == 2  # --onnx is required


# --- skl2onnx ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    from linclass.export.sklearn import register_skl2onnx

    register_skl2onnx()
    register_skl2onnx()  # again: the same registration, no error
    return module


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_skl2onnx_converts_a_pipeline(skl2onnx, vectors, loss):
    X, y = vectors
    X = X.astype(np.float32)
    labels = np.array(["a", "b", "c"])[y % 3]
    pipe = fit_quietly(make_pipeline(StandardScaler(), LinearClassifier(
        loss=loss, max_epochs=5, random_state=0)), X, labels)
    model = skl2onnx.to_onnx(pipe, X[:1], options={LinearClassifier: {"zipmap": False}})
    out = run(model, X, model.graph.input[0].name)
    S = pipe.decision_function(X)
    assert_same_labels(out["label"], pipe.predict(X), S)
    expected = pipe.predict_proba(X) if loss == "softmax" else S
    assert_allclose(out["probabilities"], expected, rtol=1e-5, atol=1e-5 * np.abs(S).max())
    # skl2onnx's default: one {label: probability} dict per row
    zipped = run(skl2onnx.to_onnx(pipe, X[:1]), X, model.graph.input[0].name)
    first = zipped["output_probability"][0]
    assert sorted(first) == ["a", "b", "c"]
    assert_allclose([first[c] for c in "abc"], expected[0], rtol=1e-5, atol=1e-5)


def test_skl2onnx_converts_a_regressor_pipeline(skl2onnx, vectors):
    X, y = vectors
    X = X.astype(np.float32)
    pipe = fit_quietly(make_pipeline(StandardScaler(), LinearRegressor(
        max_epochs=10, random_state=0)), X, y.astype(np.float32))
    model = skl2onnx.to_onnx(pipe, X[:1])
    out = run(model, X, model.graph.input[0].name)
    assert_scores_close(out["variable"][:, 0], pipe.predict(X).astype(np.float32))


# --- lazy imports ---------------------------------------------------------------------------

def test_the_library_does_not_import_onnx():
    code = ("import sys, linclass, linclass.estimators.classifier, linclass.estimators.image, "
            "linclass.cli.export; "
            "print([m for m in ('onnx', 'onnxruntime', 'skl2onnx') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


# --- the README's example -------------------------------------------------------------------

def test_the_readme_example_runs(skl2onnx, tmp_path, monkeypatch):
    """The README's ONNX example (a ``py`` block: tests/test_readme.py runs the ``python``
    one), with its stated result."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```py\n(.*?)```", readme, flags=re.S)
                if "to_onnx" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(compile(block, "README.md", "exec"), namespace)
    assert eval("(label == model.predict(data.X_test)).mean()", namespace) == 1.0
    assert (tmp_path / "digits.onnx").is_file()
    names = [o.name for o in namespace["onx"].graph.output]
    assert names == ["label", "probabilities"]
