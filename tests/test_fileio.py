"""Atomic writes: the new contents appear whole, or the old file stays as it was."""

from __future__ import annotations

import os

import pytest

from linclass.io.fileio import atomic_open, atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("durable", [True, False])
def test_atomic_open_replaces_the_file_only_when_the_block_succeeds(tmp_path, durable):
    path = tmp_path / "data.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_open(path, force=True, durable=durable) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]  # no temporary file left behind
    with atomic_open(path, force=True, durable=durable) as f:
        f.write(b"new ")
        f.write(b"contents")
    assert path.read_bytes() == b"new contents"
    assert (path.stat().st_mode & 0o777) == 0o644
    assert os.listdir(tmp_path) == ["data.bin"]


def test_atomic_open_refuses_to_clobber_without_force(tmp_path):
    path = tmp_path / "kept.txt"
    path.write_text("mine")
    with pytest.raises(FileExistsError, match="force"):
        with atomic_open(path) as f:
            f.write(b"theirs")
    assert path.read_text() == "mine"


@pytest.mark.parametrize("write", [
    lambda path: atomic_write_bytes(path, b"data"),
    lambda path: atomic_write_text(path, "text"),
    lambda path: atomic_open(path, durable=False).__enter__(),
], ids=["bytes", "text", "open"])
def test_a_missing_folder_is_named_not_the_hidden_temporary_file(tmp_path, write):
    path = tmp_path / "missing_dir" / "x.safetensors"
    with pytest.raises(FileNotFoundError) as caught:
        write(path)
    message = str(caught.value)
    assert message == f"{path.parent} does not exist (the folder for {path})"
    assert ".tmp" not in message
    assert not path.parent.exists()


def test_a_file_in_place_of_the_folder_is_named(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    path = tmp_path / "plain" / "x.json"
    with pytest.raises(NotADirectoryError, match=r"plain is not a folder \(the folder for "):
        atomic_write_text(path, "{}")
