"""Where the arithmetic runs when it is not this process's NumPy: :mod:`~linclass.backends.dask`
(partitions of a Dask array, on any Dask scheduler). Imported only when used."""
