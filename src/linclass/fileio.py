"""Writing files safely: atomically, and never over an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def check_writable(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse to clobber: raise if ``path`` exists and ``force`` is False.

    Raises:
        FileExistsError: Naming the path and how to overwrite it.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} already exists; pass force=True (CLI: --force) to overwrite")
    return path


@contextmanager
def atomic_open(
    path: str | os.PathLike, *, force: bool = False, durable: bool = True
) -> Iterator[BinaryIO]:
    """A binary file whose contents replace ``path`` all at once, or not at all.

    The bytes go to a temporary file in the same folder, which is renamed over ``path``
    with ``os.replace`` (atomic on POSIX and Windows) when the ``with`` block ends without
    an error, so a crash or a full disk never leaves a half-written file behind; on an
    error the temporary file is removed.

    Args:
        path: Destination file; its folder must exist.
        force: Overwrite an existing file.
        durable: Flush the data to disk (``fsync``) before the rename, so the new file
            survives a power cut. A cache whose entries are checksummed on every read may
            skip it: a torn entry is detected and recomputed.

    Yields:
        The open temporary file.
    """
    path = check_writable(path, force=force)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); models, pictures and reports are meant to
        # be read like any other file, so keep the old mode or use the usual 0644.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` all at once or not at all (see :func:`atomic_open`).

    Args:
        path: Destination file; its folder must exist.
        data: The complete contents.
        force: Overwrite an existing file.

    Returns:
        The destination path.
    """
    with atomic_open(path, force=force) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, force: bool = False) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)
