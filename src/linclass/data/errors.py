"""The one error type for bad data files.

Every loader raises :class:`DataError` for input it refuses, so callers (the CLI, the web
app, tests) can catch a single type and show a message that says which file is at fault
and what is wrong with it.
"""

from __future__ import annotations

import os


class DataError(ValueError):
    """A data file or folder that cannot be used, with the path and the reason.

    It subclasses ``ValueError`` because bad data is a bad argument value, so code that
    already catches ``ValueError`` keeps working.

    Args:
        path: The file or folder at fault.
        problem: What is wrong with it, in words a user can act on.

    Attributes:
        path: The file or folder at fault, as a string.
        problem: The reason, without the path.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # keep the two-argument constructor picklable (multiprocessing)
        return (type(self), (self.path, self.problem))
