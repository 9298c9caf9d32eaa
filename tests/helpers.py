"""What the tests and the adversarial scripts (``tests/adversarial/``) build alike: an
embeddings folder on disk, and servers that misbehave. Not a test module."""

from __future__ import annotations

import contextlib
import csv
import http.server
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np


def write_embeddings(folder: Path, parts: Mapping[str, np.ndarray], kind: str = "npy",
                     chunk_rows: int = 32) -> Path:
    """Write ``{"X_train": ..., "y_train": ..., ...}`` as an embeddings folder of ``.npy``
    files (``kind="npy"``) or zarr arrays of ``chunk_rows``-row chunks (``kind="zarr"``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in parts.items():
        if kind == "npy":
            np.save(folder / f"{key}.npy", arr)
        else:
            import zarr

            z = zarr.create_array(store=str(folder / f"{key}.zarr"), shape=arr.shape,
                                  chunks=(chunk_rows, *arr.shape[1:]), dtype=arr.dtype)
            z[:] = arr
    return folder


@contextlib.contextmanager
def blackhole() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word; yields its address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for c in held:
            c.close()


@contextlib.contextmanager
def http_port() -> Iterator[str]:
    """An HTTP server (a dashboard's port, say), as a ``tcp://`` address."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def search_table(folder: Path) -> tuple[dict, dict]:
    """A ``linclass search`` run folder's table, ``{(lr, alpha): (val accuracy, train
    accuracy, epochs)}``, and its ``metrics.json``."""
    rows = list(csv.DictReader((folder / "search.csv").open()))
    table = {(r["learning_rate"], r["alpha"]): (float(r["val_accuracy"]),
                                                float(r["train_accuracy"]), r["epochs"])
             for r in rows}
    return table, json.loads((folder / "metrics.json").read_text())


def stream_problem() -> tuple[np.ndarray, np.ndarray]:
    """The streaming tests' problem: 3,000 float32 rows of 16 features, 4 linear classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(4, 16)).T, axis=1)
    return X, y
