"""Adversarial model files (issue 29, item 11): downgrades and relabellings that try to
slip edited metadata past the checksum, edited fields, the wrong loader. Handled: a
ModelFileError naming the file (and, for a wrong loader, the right one), never a load of
edited metadata or a model without its preprocessing.

    python tests/adversarial/model_files_family.py

The fast regression tests are in tests/test_persist.py and
tests/test_reliability_model_files.py.
"""

from __future__ import annotations

import json
import pickle
import struct
import sys

import numpy as np
import safetensors
import safetensors.numpy
from runtime_harness import main, one_error_line, run_cli, scratch

from linclass import LinearClassifier, LinearRegressor, load_dataset
from linclass.estimators.image import ImageClassifier
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.io.persist import (
    CHECKSUM_KEY,
    ModelFileError,
    load_model,
    tensors_checksum,
    upgrade_model,
)

TMP = scratch("model-files")
DIGITS = load_dataset("digits")
IMAGE = ImageClassifier(FeaturePipeline(FeatureExtractor(kinds=("raw",)),
                                        Preprocessor(center="mean", standardize=True)),
                        LinearClassifier(max_epochs=3, random_state=0), DIGITS.class_names)
IMAGE.fit(DIGITS.X_train[:400], DIGITS.y_train[:400], progress=False)
IMAGE_FILE = IMAGE.save(TMP / "image.safetensors")
F = np.random.default_rng(0).normal(size=(80, 3))
CLF_FILE = LinearClassifier(max_epochs=2).fit(F, (F[:, 0] > 0).astype(int)).save(
    TMP / "clf.safetensors")
REG_FILE = LinearRegressor(max_epochs=2).fit(F, F[:, 0]).save(TMP / "reg.safetensors")


def parts(path):
    tensors = safetensors.numpy.load(path.read_bytes())
    with safetensors.safe_open(path, "numpy") as f:
        entries = dict(f.metadata())
    return tensors, entries, json.loads(entries["linclass"])


def write(name, tensors, entries):
    path = TMP / name
    path.write_bytes(safetensors.numpy.save(tensors, metadata=entries))
    return path


def refused(load, *words) -> tuple[bool, str]:
    try:
        model = load()
    except ModelFileError as e:
        text = " ".join(str(e).split())
        missing = [w for w in words if w not in text]
        return not missing, (f"missing {missing}: " if missing else "") + text[-110:]
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"[:150]
    return False, f"loaded: {type(model).__name__}"


def edited(version=1, keep_checksum=False, drop=(), **changes):
    """The image model's file with metadata ``changes``, relabelled ``version``, with the
    weights' v1 checksum added (and the v2 one kept or removed)."""
    tensors, entries, meta = parts(IMAGE_FILE)
    meta.update(changes, format_version=version)
    for key in drop:
        meta.pop(key, None)
    if version == 1:
        meta["weights_sha256"] = tensors_checksum(tensors)
    new = {"linclass": json.dumps(meta)}
    if keep_checksum:
        new[CHECKSUM_KEY] = entries[CHECKSUM_KEY]
    return tensors, new


EDIT = {"class_names": ["EDITED", *DIGITS.class_names[1:]]}


def case_downgrade_keeping_the_v2_checksum():
    path = write("d1.safetensors", *edited(1, True, **EDIT))
    return refused(lambda: load_model(path), "relabelled")


def case_downgrade_dropping_the_v2_checksum():
    path = write("d2.safetensors", *edited(1, False, **EDIT))
    return refused(lambda: load_model(path), "not the metadata")


def case_downgrade_through_image_classifier_load():
    path = write("d3.safetensors", *edited(1, False, **EDIT))
    return refused(lambda: ImageClassifier.load(path), "version 1")


def case_downgrade_through_the_cli_predict():
    path = write("d4.safetensors", *edited(1, False, **EDIT))
    img = TMP / "x.png"
    from PIL import Image

    Image.fromarray(DIGITS.X_test[0].astype(np.uint8)).save(img)
    return one_error_line(run_cli(["predict", "--model", path, img], 120), "version 1",
                          within=90)


def case_upgrade_of_a_relabelled_file():
    path = write("d5.safetensors", *edited(1, True, **EDIT))
    return refused(lambda: upgrade_model(path, TMP / "u5.safetensors"), "relabelled")


def case_genuine_v1_upgraded_then_loaded():
    path = write("v1.safetensors", *edited(1, False))
    try:
        out = upgrade_model(path, TMP / "u1.safetensors")
        model = ImageClassifier.load(out)
    except Exception as e:  # noqa: BLE001
        return False, f"{type(e).__name__}: {e}"[:150]
    same = np.array_equal(model.predict(DIGITS.X_test[:50]), IMAGE.predict(DIGITS.X_test[:50]))
    return same, "upgraded, predicts as the original" if same else "predictions differ"


def case_v1_with_damaged_weights_is_not_upgraded():
    tensors, entries = edited(1, False)
    tensors = {**tensors, "b": tensors["b"] + 1}
    path = write("v1bad.safetensors", tensors, entries)
    return refused(lambda: upgrade_model(path, TMP / "ubad.safetensors"), "checksum")


def case_version_true():
    path = write("vt.safetensors", *edited(True, True))
    return refused(lambda: load_model(path), "version")


def case_version_one_point_zero():
    path = write("vf.safetensors", *edited(1.0, False, **EDIT))
    return refused(lambda: load_model(path))


def case_version_string():
    path = write("vs.safetensors", *edited("1", False, **EDIT))
    return refused(lambda: load_model(path), "version")


def case_version_three():
    path = write("v3.safetensors", *edited(3, True))
    return refused(lambda: load_model(path), "version 3")


def case_edited_class_names_in_v2():
    path = write("e1.safetensors", *edited(2, True, **EDIT))
    return refused(lambda: load_model(path), "checksum")


def case_edited_estimator_name_in_v2():
    path = write("e2.safetensors", *edited(2, True, estimator="LinearRegressor"))
    return refused(lambda: load_model(path), "checksum")


def case_v2_checksum_removed():
    path = write("e3.safetensors", *edited(2, False))
    return refused(lambda: load_model(path), "checksum")


def case_preprocessing_removed_and_relabelled():
    path = write("e4.safetensors", *edited(1, False, drop=("input",)))
    return refused(lambda: LinearClassifier.load(path), "version 1")


def case_linear_classifier_load_of_an_image_model():
    return refused(lambda: LinearClassifier.load(IMAGE_FILE), "ImageClassifier.load")


def case_regressor_load_of_a_classifier():
    return refused(lambda: LinearRegressor.load(CLF_FILE), "LinearClassifier.load")


def case_regressor_load_of_an_image_model():
    return refused(lambda: LinearRegressor.load(IMAGE_FILE), "ImageClassifier.load")


def case_classifier_load_of_a_regressor():
    return refused(lambda: LinearClassifier.load(REG_FILE), "LinearRegressor.load")


def case_image_load_of_a_bare_classifier():
    return refused(lambda: ImageClassifier.load(CLF_FILE), "LinearClassifier.load")


def case_pickle():
    path = TMP / "p.safetensors"
    path.write_bytes(pickle.dumps({"W": 1}))
    return refused(lambda: load_model(path), "pickle")


def case_truncated():
    path = TMP / "t.safetensors"
    path.write_bytes(IMAGE_FILE.read_bytes()[:100])
    return refused(lambda: load_model(path))


def case_empty():
    path = TMP / "empty.safetensors"
    path.write_bytes(b"")
    return refused(lambda: load_model(path), "truncated")


def case_huge_header_length():
    path = TMP / "h.safetensors"
    path.write_bytes(struct.pack("<Q", 2**60) + b"{}")
    return refused(lambda: load_model(path))


def case_renamed_tensor():
    tensors, entries, _ = parts(IMAGE_FILE)
    tensors["V"] = tensors.pop("W")
    path = write("r.safetensors", tensors, entries)
    return refused(lambda: load_model(path))


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(main("model files", CASES))
