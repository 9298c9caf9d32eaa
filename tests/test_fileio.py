"""Atomic writes: the new contents appear whole, or the old file stays as it was."""

from __future__ import annotations

import os

import pytest

from linclass.io.fileio import atomic_open, atomic_write_bytes


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
