import json
import os
import pickle
import struct

import numpy as np
import pytest
import safetensors.numpy
from numpy.testing import assert_array_equal

from linclass.io.fileio import atomic_write_bytes
from linclass.io.persist import FORMAT_VERSION, ModelFileError, load_model, save_model


@pytest.fixture
def params():
    rng = np.random.default_rng(0)
    return {"W": rng.standard_normal((3, 5)).astype(np.float32),
            "b": np.arange(3, dtype=np.float32)}


def test_round_trip_is_bit_identical(tmp_path, params):
    path = tmp_path / "m.safetensors"
    extra = {"preprocess.mean": np.linspace(0, 1, 5, dtype=np.float32)}
    save_model(path, params, {"classes": ["a", "b", "c"], "seed": 3}, arrays=extra)
    loaded, meta, arrays = load_model(path)
    assert_array_equal(loaded["W"], params["W"])
    assert loaded["W"].dtype == np.float32
    assert_array_equal(loaded["b"], params["b"])
    assert_array_equal(arrays["preprocess.mean"], extra["preprocess.mean"])
    assert meta["classes"] == ["a", "b", "c"] and meta["seed"] == 3
    assert meta["format_version"] == FORMAT_VERSION
    with safetensors.safe_open(path, "numpy") as f:
        assert len(f.metadata()["linclass_sha256"]) == 64


def test_existing_file_is_not_overwritten_without_force(tmp_path, params):
    path = tmp_path / "m.safetensors"
    save_model(path, params)
    before = path.read_bytes()
    params2 = {k: v + 1 for k, v in params.items()}
    with pytest.raises(FileExistsError, match="force"):
        save_model(path, params2)
    assert path.read_bytes() == before
    save_model(path, params2, force=True)
    assert_array_equal(load_model(path)[0]["b"], params2["b"])


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "x.bin"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"hello")
    assert list(tmp_path.iterdir()) == []


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(path)
    assert not marker.exists()


def test_truncated_file_is_refused(tmp_path, params):
    path = tmp_path / "m.safetensors"
    save_model(path, params)
    data = path.read_bytes()
    for cut in (4, 20, len(data) - 7):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=str(bad.name)):
            load_model(bad)


def test_tampered_weights_are_refused(tmp_path, params):
    path = tmp_path / "m.safetensors"
    save_model(path, params)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits in the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def _rewrite(path, tensors, meta, checksum=False):
    """A file of these tensors and metadata; ``checksum``: with the version-2 checksum of
    both (as save_model would write, checks aside)."""
    from linclass.io.persist import CHECKSUM_KEY, tensors_checksum

    text = json.dumps(meta)
    entries = {"linclass": text}
    if checksum:
        entries[CHECKSUM_KEY] = tensors_checksum(tensors, text)
    path.write_bytes(safetensors.numpy.save(tensors, metadata=entries))


V2 = {"format": "linclass-model", "format_version": 2}


def test_nan_weights_are_refused_even_with_a_matching_checksum(tmp_path, params):
    params["W"][0, 0] = np.nan
    path = tmp_path / "nan.safetensors"
    _rewrite(path, params, V2, checksum=True)
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)
    with pytest.raises(ValueError, match="NaN"):
        save_model(tmp_path / "other.safetensors", params)


def test_inconsistent_shapes_are_refused(tmp_path, params):
    params["b"] = np.zeros(4, dtype=np.float32)
    path = tmp_path / "shape.safetensors"
    _rewrite(path, params, V2, checksum=True)
    with pytest.raises(ModelFileError, match="inconsistent shapes"):
        load_model(path)


def test_unknown_version_and_foreign_files_are_refused(tmp_path, params):
    path = tmp_path / "v.safetensors"
    _rewrite(path, params, {"format": "linclass-model", "format_version": 99})
    with pytest.raises(ModelFileError, match="version 99"):
        load_model(path)
    foreign = tmp_path / "f.safetensors"
    foreign.write_bytes(safetensors.numpy.save(params))
    with pytest.raises(ModelFileError, match="not a linclass model"):
        load_model(foreign)
    junk = tmp_path / "j.safetensors"
    junk.write_bytes(struct.pack("<Q", 5) + b"nope!")
    with pytest.raises(ModelFileError, match="JSON"):
        load_model(junk)
    huge = tmp_path / "h.safetensors"
    huge.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(ModelFileError, match="header says"):
        load_model(huge)
    with pytest.raises(ModelFileError, match="no such"):
        load_model(tmp_path / "missing.safetensors")


def test_a_header_length_starting_with_the_pickle_opcode_still_loads(tmp_path, params):
    # The first byte of a safetensors file is the low byte of its header length; 0x80 is
    # also pickle's PROTO opcode. A model must not be refused for its header's length.
    for pad in range(256):
        path = tmp_path / f"p{pad}.safetensors"
        save_model(path, params, {"note": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no padding gave a header length with low byte 0x80")
    assert_array_equal(load_model(path)[0]["W"], params["W"])


def test_saving_into_a_missing_folder_names_the_folder(tmp_path, params):
    path = tmp_path / "missing_dir" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match=r"missing_dir does not exist \(the folder for "):
        save_model(path, params)


# --- a downgrade does not bypass the checksum (issue 29, item 11) ----------------------------


def _v1(params, **meta):
    from linclass.io.persist import tensors_checksum

    return {"format": "linclass-model", "format_version": 1,
            "weights_sha256": tensors_checksum(params), **meta}


def test_a_v2_file_relabelled_as_v1_with_edited_metadata_is_refused(tmp_path, params):
    path = tmp_path / "m.safetensors"
    save_model(path, params, {"class_names": ["a", "b", "c"]})
    with safetensors.safe_open(path, "numpy") as f:
        entries = f.metadata()
    meta = json.loads(entries["linclass"])
    meta.update(format_version=1, class_names=["EDITED", "b", "c"])
    from linclass.io.persist import tensors_checksum

    meta["weights_sha256"] = tensors_checksum(params)
    kept = tmp_path / "kept.safetensors"  # the version-2 checksum left in place
    kept.write_bytes(safetensors.numpy.save(params, metadata={
        "linclass": json.dumps(meta), "linclass_sha256": entries["linclass_sha256"]}))
    with pytest.raises(ModelFileError, match="relabelled"):
        load_model(kept)
    dropped = tmp_path / "dropped.safetensors"  # ... or removed: a version-1 file
    _rewrite(dropped, params, meta)
    with pytest.raises(ModelFileError, match="covers the weights but not the metadata"):
        load_model(dropped)


def test_a_trusted_v1_file_is_upgraded_once_then_verified_like_any(tmp_path, params):
    from linclass.io.persist import upgrade_model

    old = tmp_path / "old.safetensors"
    _rewrite(old, params, _v1(params, class_names=["a", "b", "c"]))
    with pytest.raises(ModelFileError, match="upgrade_model"):
        load_model(old)
    new = upgrade_model(old, tmp_path / "new.safetensors")
    loaded, meta, _ = load_model(new)
    assert_array_equal(loaded["W"], params["W"])
    assert meta["format_version"] == FORMAT_VERSION and meta["class_names"] == ["a", "b", "c"]
    assert "weights_sha256" not in meta
    damaged = tmp_path / "damaged.safetensors"  # the weights are still checked
    _rewrite(damaged, {**params, "b": params["b"] + 1}, _v1(params))
    with pytest.raises(ModelFileError, match="checksum"):
        upgrade_model(damaged, tmp_path / "x.safetensors")
