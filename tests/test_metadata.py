"""Model metadata: every file gives a correct load or a ModelFileError, fast and small.

The cases of issue 19 first (each escaped ``ModelFileError`` as another exception, or
loaded and then crashed a face), then a seeded fuzzer that mutates every field of a real
model file's metadata and re-signs it, so the mutation reaches the schema instead of
stopping at the checksum.
"""

import json
import struct
import time
import tracemalloc

import numpy as np
import pytest
import safetensors.numpy

from linclass import LinearClassifier
from linclass.cli.common import class_names_of
from linclass.data import load_dataset
from linclass.estimators.image import ImageClassifier
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.io.metadata import MAX_DEPTH, SchemaError, parse_json
from linclass.io.persist import CHECKSUM_KEY, ModelFileError, load_model, tensors_checksum
from linclass.io.strict_json import json_depth


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module", params=[("raw",), ("hog", "hist")], ids=["raw", "hog+hist"])
def model_file(request, digits, tmp_path_factory):
    """A real ImageClassifier file: ``(path, tensors, metadata dict)``."""
    pipe = FeaturePipeline(FeatureExtractor(kinds=request.param, hog_pixels_per_cell=(2, 2)),
                           Preprocessor(standardize=True))
    model = ImageClassifier(pipe, LinearClassifier(max_epochs=1, random_state=0),
                            digits.class_names).fit(digits.X_train[:200], digits.y_train[:200])
    path = model.save(tmp_path_factory.mktemp("model") / "m.safetensors",
                      extra_meta={"dataset": {"dataset": "digits", "seed": 0}, "run": "r"})
    tensors = safetensors.numpy.load_file(path)
    with safetensors.safe_open(path, "numpy") as f:
        meta = json.loads(f.metadata()["linclass"])
    return path, tensors, meta


def signed(path, tensors, text):
    """Write a model file whose checksum matches ``text`` (the metadata JSON)."""
    path.write_bytes(safetensors.numpy.save(
        tensors, metadata={"linclass": text, CHECKSUM_KEY: tensors_checksum(tensors, text)}))
    return path


def with_header(path, tensors, edit):
    """A file whose safetensors header (a dict) went through ``edit`` before writing."""
    data = safetensors.numpy.save(tensors, metadata={"linclass": "{}"})
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    text = edit(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + n :])
    return path


def exercise(path, images):
    """Load a file as the CLI does, and use it as predict/evaluate/plot would."""
    model = ImageClassifier.load(path)
    names = class_names_of(model)
    scores = model.decision_function(images)
    assert np.isfinite(scores).all()
    assert len(names) == len(model.classifier.classes_) >= 2
    labels = model.predict(images)
    assert set(labels.tolist()) <= set(model.classifier.classes_.tolist())
    if hasattr(model.classifier, "predict_proba"):
        assert np.isfinite(model.predict_proba(images)).all()
    return model


def mutated(meta, path_keys, value):
    """A deep copy of ``meta`` with the field at ``path_keys`` replaced (``DELETE``: removed)."""
    meta = json.loads(json.dumps(meta))
    node = meta
    for key in path_keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path_keys[-1]]
    else:
        node[path_keys[-1]] = value
    return meta


DELETE = object()


def field_paths(value, prefix=()):
    """Every field of a JSON value, as key paths (containers before their members)."""
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield (*prefix, key)
        yield from field_paths(item, (*prefix, key))


# --- the cases of issue 19 ----------------------------------------------------------------


def test_deep_nesting_is_refused_without_recursion_error(model_file, tmp_path, digits):
    _, tensors, meta = model_file
    deep = "[" * 1000 + "]" * 1000
    text = json.dumps(meta)[:-1] + f', "deep": {deep}}}'
    with pytest.raises(ModelFileError, match="metadata: nests 1001 levels"):
        load_model(signed(tmp_path / "deep.safetensors", tensors, text))
    # ... and in the safetensors header itself, outside the linclass entry
    path = with_header(tmp_path / "h.safetensors", tensors,
                       lambda h: json.dumps(h)[:-1] + f', "x": {deep}}}')
    with pytest.raises(ModelFileError, match="nests"):
        load_model(path)


@pytest.mark.parametrize("field, value, message", [
    (("classes", "values"), 5, "classes.values must be a list"),
    (("classes",), [1, 2], "classes must be an object"),
    (("input", "image_shape"), 5, "input.image_shape must be a list"),
    (("input",), [1], "input must be an object"),
    (("n_features_in",), 1e300, "n_features_in must be an integer"),
    (("n_iter",), -1, "n_iter must lie in"),
    (("input", "features", "extractor", "hog_pixels_per_cell"), [0, 0], "must lie in"),
    (("input", "features", "extractor", "hist_bins"), 2 * 10**8, "hist_bins must lie in"),
    (("class_names",), 7, "class_names must be a list"),
    (("class_names",), ["a"] * 3, "must hold 10 to 10 entries"),
    (("class_names", 0), "\udcff", "not valid UTF-8"),
    (("dataset",), "digits", "dataset must be an object"),
    (("hyperparameters", "loss"), "nonsense", "loss"),
    (("hyperparameters", "learning_rate"), "x", "bad metadata"),
    (("estimator",), 5, "estimator must be a string"),
])
def test_each_reported_field_lie_is_a_model_file_error(model_file, tmp_path, digits, field,
                                                       value, message):
    _, tensors, meta = model_file
    if field[:3] == ("input", "features", "extractor") and "hog" not in \
            meta["input"]["features"]["extractor"]["kinds"]:
        pytest.skip("a raw-pixel model has no HOG fields to lie about")
    text = json.dumps(mutated(meta, field, value))
    with pytest.raises(ModelFileError, match=message):
        exercise(signed(tmp_path / "m.safetensors", tensors, text), digits.X_test[:5])


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999", "1" * 5000])
def test_non_finite_and_huge_numbers_are_refused(model_file, tmp_path, literal):
    _, tensors, meta = model_file
    for key in ("n_features_in", "n_iter"):
        text = json.dumps(mutated(meta, (key,), "@")).replace('"@"', literal)
        with pytest.raises(ModelFileError, match="number|JSON"):
            load_model(signed(tmp_path / "m.safetensors", tensors, text))


@pytest.mark.parametrize("edit, message", [
    (lambda h: json.dumps({**h, "__metadata__": [1]}), "not a linclass model"),
    (lambda h: json.dumps({**h, "__metadata__": {"linclass": 5}}), "not a linclass model"),
    (lambda h: json.dumps({**h, "__metadata__": {"linclass": "5"}}), "does not describe"),
    (lambda h: json.dumps({**h, "__metadata__": {
        "linclass": json.dumps({"format": "linclass-model", "format_version": [2]})}}),
     "format version"),
])
def test_header_level_lies_are_refused(model_file, tmp_path, edit, message):
    _, tensors, _ = model_file
    with pytest.raises(ModelFileError, match=message):
        load_model(with_header(tmp_path / "m.safetensors", tensors, edit))


def test_metadata_is_covered_by_the_checksum(model_file, tmp_path):
    path, tensors, meta = model_file
    data = path.read_bytes()
    edited = data.replace(b'\\"n_iter\\": 1', b'\\"n_iter\\": 7')
    assert edited != data and len(edited) == len(data)
    (tmp_path / "e.safetensors").write_bytes(edited)
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_model(tmp_path / "e.safetensors")


def test_zero_and_one_class_models_are_refused(model_file, tmp_path):
    _, tensors, meta = model_file
    for n in (0, 1):
        cut = {**tensors, "W": tensors["W"][:n], "b": tensors["b"][:n]}
        text = json.dumps(mutated(meta, ("classes", "values"), list(range(n))))
        with pytest.raises(ModelFileError, match="2 to"):
            load_model(signed(tmp_path / "c.safetensors", cut, text))


def test_weights_that_overflow_the_scores_are_refused(model_file, tmp_path):
    _, tensors, meta = model_file
    big = {**tensors, "W": np.full_like(tensors["W"], 1e38)}
    with pytest.raises(ModelFileError, match="overflow"):
        load_model(signed(tmp_path / "w.safetensors", big, json.dumps(meta)))


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[[[", "b": [[1]]}') == 3
    assert json_depth(r'{"a": "\"[[[[", "b": 1}') == 1
    with pytest.raises(SchemaError, match="nests"):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "x")


# --- the fuzzer -----------------------------------------------------------------------------

VALUES = [DELETE, None, True, False, 0, -1, 1, 2, 3, 5, 10, 64, 2**31, 2**63, -(2**63) - 1,
          10**30, 1e308, -1e308, 0.5, 1e-320, "", "x", "raw", "hog", "\udcff", "a" * 5000, [],
          [0], [0, 0], [1, 1], [8, 8], [8, 8, 3], [2**40, 1], [8192, 8192], ["raw", "raw"],
          {}, {"a": 1}, [[1]], {"kind": "int", "values": [0, 1]}]


def test_fuzzed_metadata_loads_correctly_or_raises_model_file_error(model_file, tmp_path,
                                                                    digits):
    """Seeded mutations of every field: a file that loads must also predict, with finite
    scores and a name per class; every other file raises ModelFileError. Each case is fast
    and small."""
    _, tensors, meta = model_file
    rng = np.random.default_rng(19)
    images = digits.X_test[:5]
    paths = list(field_paths(meta))
    outcomes = {"loaded": 0, "refused": 0}
    tracemalloc.start()
    try:
        for i, field in enumerate(paths):
            for value in rng.choice(np.array(VALUES, dtype=object), 8, replace=False):
                file = signed(tmp_path / f"f{i}.safetensors", tensors,
                              json.dumps(mutated(meta, field, value)))
                tracemalloc.reset_peak()
                start = time.perf_counter()
                try:
                    exercise(file, images)
                    outcomes["loaded"] += 1
                except ModelFileError:
                    outcomes["refused"] += 1
                seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
                assert seconds < 2 and peak < 64 * 2**20, (field, value, seconds, peak)
    finally:
        tracemalloc.stop()
    assert outcomes["refused"] > len(paths) and outcomes["loaded"] > 0, outcomes


def test_fuzzed_bytes_load_correctly_or_raise_model_file_error(model_file, tmp_path, digits):
    path, _, _ = model_file
    data = path.read_bytes()
    rng = np.random.default_rng(7)
    (n,) = struct.unpack("<Q", data[:8])
    for i in range(150):
        bad = bytearray(data)
        where = rng.integers(0, 8 + n) if i % 2 else rng.integers(0, len(data))
        bad[where] = rng.integers(0, 256)
        if i % 5 == 0:
            bad = bad[: rng.integers(0, len(data))]
        file = tmp_path / f"b{i}.safetensors"
        file.write_bytes(bytes(bad))
        try:
            exercise(file, digits.X_test[:5])
        except ModelFileError:
            pass


@pytest.mark.parametrize("field, value", [
    (("class_names",), 7), (("dataset",), "digits"), (("classes", "values"), 5),
    (("input", "image_shape"), 5), (("n_features_in",), 1e300),
])
def test_predict_and_evaluate_end_in_one_line_errors(model_file, tmp_path, digits, field,
                                                     value):
    from PIL import Image

    from conftest import assert_one_line_error, cli_invoke

    _, tensors, meta = model_file
    path = signed(tmp_path / "m.safetensors", tensors, json.dumps(mutated(meta, field, value)))
    Image.fromarray(digits.X_test[0]).save(tmp_path / "x.png")
    assert_one_line_error(cli_invoke(["predict", "--model", path, tmp_path / "x.png"]),
                          "m.safetensors")
    assert_one_line_error(cli_invoke(["evaluate", "--model", path]), "m.safetensors")
