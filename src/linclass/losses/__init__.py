"""Loss functions on class scores, and one record per loss.

:mod:`linclass.losses.functions` is the math (``loss(scores, y) -> (value, dscores)``,
in-place kernels, loop references, the values against an array namespace);
:mod:`linclass.losses.records` says what each loss is (:class:`~linclass.losses.records.Loss`)
and derives the tables every other module reads. Both are re-exported here, so
``from linclass.losses import softmax_loss, LOSSES`` keeps working.
"""

from __future__ import annotations

from linclass.losses.functions import *  # noqa: F403  (the math, re-exported)
from linclass.losses.functions import __all__ as _functions_all
from linclass.losses.records import *  # noqa: F403
from linclass.losses.records import __all__ as _records_all

__all__ = [*_functions_all, *_records_all]
