"""A Dask worker lost in the middle of an lbfgs fit: Dask reruns its tasks elsewhere (the
nanny restarts the worker) and the fit ends where the in-process fit ends.

    python benchmarks/worker_loss.py

Two worker processes, 200,000 x 32 float64 rows in 8 partitions, 40 L-BFGS iterations;
3 s in, one worker process exits (``os._exit(1)``). Prints the fit's time and its
coefficients' largest relative difference from the in-process fit. (Too slow for
``make test``.)
"""

from __future__ import annotations

import threading
import time

import numpy as np


def main() -> None:
    import dask.array as da
    from distributed import Client, LocalCluster

    from linclass.grad import make_value_and_grad
    from linclass.model import init_params
    from linclass.objective import objective_value
    from linclass.training import fit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 32))
    y = np.argmax(X @ rng.normal(size=(4, 32)).T, axis=1)
    kw = dict(optimizer="lbfgs", max_epochs=40, tol=None, progress=False,
              value_and_grad=make_value_and_grad("analytic", loss="softmax", penalty="l2",
                                                 alpha=1e-3))
    kw["value"] = lambda p, X_, y_: objective_value(p, X_, y_, "softmax", "l2", 1e-3)
    start = init_params(32, 4, random_state=0)
    reference = fit(start, X, y, **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:

        def lose_a_worker() -> None:
            time.sleep(3)
            victim = next(iter(client.scheduler_info()["workers"]))
            print(f"worker {victim} exits", flush=True)
            try:
                client.run(lambda: __import__("os")._exit(1), workers=[victim])
            except Exception:  # the worker's connection closes under the call
                pass

        threading.Thread(target=lose_a_worker).start()
        begin = time.perf_counter()
        result = fit(start, da.from_array(X, chunks=(25_000, 32)),
                     da.from_array(y, chunks=25_000), **kw)
        diff = (np.abs(result.params["W"] - reference.params["W"]).max()
                / np.abs(reference.params["W"]).max())
        print(f"fit finished in {time.perf_counter() - begin:.1f} s after {result.n_iter} "
              f"iterations (in process: {reference.n_iter}); largest relative coefficient "
              f"difference {diff:.1e}; workers now {len(client.scheduler_info()['workers'])}")


if __name__ == "__main__":
    main()
