"""Whether an array is a SciPy sparse matrix, without importing SciPy to ask.

A sparse matrix can only exist once ``scipy.sparse`` has been imported, so when that
module is not loaded the answer is no. The light commands (``linclass explain``) reach
the objective and the model; asking ``scipy.sparse.issparse`` directly would load
``scipy.sparse`` (about a quarter of ``explain``'s start-up) for an answer known to be
no.
"""

from __future__ import annotations

import sys
from typing import Any


def issparse(X: Any) -> bool:
    """True when ``X`` is a ``scipy.sparse`` matrix or array (any format)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(X))
