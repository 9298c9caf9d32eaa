"""Exit statuses shared by the entry point (:mod:`linclass.console`) and the command line
(:mod:`linclass.cli`); a leaf module, so neither imports the other for them."""

#: 128 + SIGINT, what shells report for a Ctrl-C.
INTERRUPTED_STATUS = 130

__all__ = ["INTERRUPTED_STATUS"]
