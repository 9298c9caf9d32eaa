"""Writing files safely: atomically, never over an existing file unless asked, and under
an exclusive claim when several processes might write the same place."""

from __future__ import annotations

import errno
import glob
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def check_writable(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse to clobber: raise if ``path`` exists and ``force`` is False.

    Raises:
        FileExistsError: Naming the path and how to overwrite it.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} already exists; pass force=True (CLI: --force) to overwrite")
    return path


def check_folder(path: Path) -> None:
    """Check that the folder ``path`` goes in exists, before a temporary file is made there.

    Without this, a missing folder surfaces as ``mkstemp``'s error, which names the hidden
    temporary file (``.x.safetensors.123.abc.tmp``) rather than the folder to create.

    Raises:
        FileNotFoundError: The folder does not exist.
        NotADirectoryError: Something other than a folder has its name.
    """
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"{parent} does not exist (the folder for {path})")
    if not parent.is_dir():
        raise NotADirectoryError(f"{parent} is not a folder (the folder for {path})")


def open_regular(path: str | os.PathLike, *, max_bytes: int | None = None
                 ) -> io.BufferedReader:
    """Open an existing file for reading only if it is a plain file, of at most ``max_bytes``.

    The one safe-open for files a program wrote for itself and reads back (the feature
    cache's entries): the name is opened with ``O_NOFOLLOW | O_NONBLOCK``, so a symlink
    (to ``/dev/zero``, say) is refused instead of followed and a FIFO cannot block the
    open, and the open file's own ``fstat`` must say "regular file" (not a folder, FIFO or
    device) no bigger than ``max_bytes``. Read it with a bound too (``f.read(n + 1)``): a
    file can grow after the check.

    Raises:
        OSError: The file is missing or unreadable (the usual errors), a symlink
            (``ELOOP``), not a regular file (``EINVAL``) or too big (``EFBIG``).
    """
    flags = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        if max_bytes is not None and info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"larger than {max_bytes} bytes", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def atomic_open(
    path: str | os.PathLike, *, force: bool = False, durable: bool = True
) -> Iterator[BinaryIO]:
    """A binary file whose contents replace ``path`` all at once, or not at all.

    The bytes go to a temporary file in the same folder, which is renamed over ``path``
    with ``os.replace`` (atomic on POSIX and Windows) when the ``with`` block ends without
    an error, so a crash or a full disk never leaves a half-written file behind; on an
    error (Ctrl-C included) the temporary file is removed. Those of writers that were
    killed are removed by the next write of the same file (:func:`remove_stale_temp_files`).

    Args:
        path: Destination file; its folder must exist.
        force: Overwrite an existing file.
        durable: Flush the data to disk (``fsync``) before the rename, so the new file
            survives a power cut. A cache whose entries are checksummed on every read may
            skip it: a torn entry is detected and recomputed.

    Yields:
        The open temporary file.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
        FileNotFoundError: The folder of ``path`` does not exist.
        NotADirectoryError: The folder of ``path`` is a file.
    """
    path = check_writable(path, force=force)
    check_folder(path)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                               suffix=".tmp")
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


# --- temporary files of dead writers, and exclusive claims ---------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete the temporary files that killed writers of ``path`` left next to it.

    :func:`atomic_write_bytes` names its temporary file ``.NAME.PID.*.tmp``; a process
    killed with SIGKILL (or a power cut) cannot remove its own, so the next writer of the
    same file removes those whose process is gone.

    Returns:
        The files removed.
    """
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


class FileLock:
    """An exclusive, non-blocking claim on a name, held through a lock file.

    On POSIX the claim is an ``flock`` on the file, which the kernel drops when its
    process ends in any way (SIGKILL included), so a dead claim never blocks anyone;
    elsewhere it is the file's exclusive creation. :meth:`release` deletes the file.

    Args:
        path: The lock file.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the claim if nobody holds it; return whether this process now holds it."""
        if fcntl is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:  # the last holder may have deleted the file between our open and lock
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    self._fd = fd
                    return True
            except FileNotFoundError:
                pass
            os.close(fd)

    def release(self) -> None:
        """Give the claim up and delete the lock file (nothing if not held)."""
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still held: no one else can hold it
            os.close(self._fd)
            self._fd = None
