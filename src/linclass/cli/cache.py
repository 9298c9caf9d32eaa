"""``linclass cache``: the feature cache's folder and size, and ``clear`` to empty it.

``train`` and ``search`` keep the HOG and histogram features of each image set in the
cache (see :mod:`linclass.features.cache`), so a second run on the same data skips the
extraction. Its folder is ``$LINCLASS_CACHE_DIR`` (default ``~/.cache/linclass/features``),
its cap ``$LINCLASS_CACHE_MAX_MB`` megabytes (default 2048; 0 turns it off).
"""

from __future__ import annotations

import typer

from linclass.cli.common import cli_errors
from linclass.features import default_cache

EPILOG = """\
Examples:

  linclass cache info

  linclass cache clear

  LINCLASS_CACHE_DIR=/scratch/features linclass train --dataset fashion-mnist --features hog
"""

app = typer.Typer(help="The feature cache: HOG and histogram features computed once.",
                  no_args_is_help=True, epilog=EPILOG)


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


@app.command(epilog="Example:\n\n  linclass cache clear\n")
def clear() -> None:
    """Remove every cached feature matrix; they are recomputed when next needed."""
    with cli_errors():
        cache = default_cache()
        removed, freed = cache.clear()
    typer.echo(f"removed {removed} cached feature matrices ({_megabytes(freed)}) from "
               f"{cache.directory}")


@app.command(epilog="Example:\n\n  linclass cache info\n")
def info() -> None:
    """Show the cache's folder, how many feature matrices it holds, their size and the cap."""
    with cli_errors():
        cache = default_cache()
        entries = cache.entries()
    typer.echo(f"folder: {cache.directory} (entries in {cache.entry_folder.name}/, the only "
               "files linclass removes there)")
    typer.echo(f"entries: {len(entries)}, {_megabytes(sum(e.nbytes for e in entries))} "
               f"of {_megabytes(cache.max_bytes)}"
               + ("" if cache.max_bytes else " (caching is off: LINCLASS_CACHE_MAX_MB=0)"))
