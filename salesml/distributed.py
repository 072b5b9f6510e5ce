"""Running partitioned steps on a Dask cluster (``dask.distributed``), or in this process.

The month-partitioned steps (validation, allocation, journeys, snapshots, the CAC
bootstrap) are written as a list of independent pieces of work plus a combine step.
:func:`map_pieces` runs the pieces in this process, one after the other, or on a
cluster when a client is given or named, and returns the results in the order of the
pieces either way, so the combine step, and hence the result, is the same.

Which cluster, first match wins:

1. a ``distributed.Client`` passed as ``client=`` (Python);
2. a scheduler address passed as ``scheduler=`` (``--scheduler tcp://host:8786`` on the
   command line);
3. the environment variable ``SALESML_DASK_SCHEDULER``;
4. none: the work runs in this process (no Dask needed).

Dask is an optional dependency (``pip install -e ".[dask]"``); it is imported only when
a cluster is asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["ENV_VAR", "DaskUnavailable", "cluster_label", "map_pieces", "resolve_client"]

#: The environment variable naming a scheduler address.
ENV_VAR = "SALESML_DASK_SCHEDULER"
#: Accepted scheduler addresses: tcp/tls/inproc/ucx URLs with a host and optional port.
_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://[A-Za-z0-9_.\-\[\]:/]{1,253}$")


#: Clients opened from an address, reused while they run (one connection per scheduler).
_CLIENTS: dict[str, Any] = {}


class DaskUnavailable(RuntimeError):
    """A cluster was asked for but ``dask.distributed`` is not installed or not reachable."""


def _check_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS.match(address):
        raise ValueError(
            f"scheduler address {address!r} is not of the form tcp://host:port "
            "(also tls://, ucx://, inproc://)"
        )
    return address


def resolve_client(client: Any = None, scheduler: str | None = None) -> Any:
    """The Dask client to run on, or ``None`` to run in this process.

    Parameters
    ----------
    client
        A ``distributed.Client``; returned as it is. Every partitioned step takes
        ``client=None`` and passes it here, so the environment variable alone sends a
        report's steps to a cluster.
    scheduler
        A scheduler address (``tcp://host:8786``); when ``None``, the environment
        variable ``SALESML_DASK_SCHEDULER`` is read.

    Returns
    -------
    distributed.Client or None
        ``None`` when no cluster is named. A client opened from an address is kept
        and returned again for the same address while it runs.

    Raises
    ------
    ValueError
        When the address is not a scheduler URL.
    DaskUnavailable
        When an address is named but ``distributed`` is not installed, or the scheduler
        does not answer within 30 seconds.
    """
    if client is not None:
        return client
    address = scheduler if scheduler is not None else os.environ.get(ENV_VAR, "").strip()
    if not address:
        return None
    address = _check_address(address)
    known = _CLIENTS.get(address)
    if known is not None and known.status == "running":
        return known
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise DaskUnavailable(
            f"a Dask scheduler was named ({address}) but dask.distributed is not installed: "
            'pip install -e ".[dask]"'
        ) from err
    try:
        client = Client(address, timeout="30s", set_as_default=False)
    except OSError as err:
        raise DaskUnavailable(f"the Dask scheduler at {address} did not answer: {err}") from err
    _CLIENTS[address] = client
    return client


def cluster_label(client: Any) -> str:
    """A short description of where work runs: ``in-process`` or the scheduler and workers."""
    if client is None:
        return "in-process"
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
    return f"{info.get('address', '?')} ({len(workers)} workers, {threads} threads)"


def map_pieces(
    fn: Callable[..., Any],
    pieces: Sequence[Any] | Iterable[Any],
    *args: Any,
    client: Any = None,
    progress: bool = False,
    desc: str = "",
    threads: int = 1,
    **kwargs: Any,
) -> list[Any]:
    """``[fn(piece, *args, **kwargs) for piece in pieces]``, here or on a cluster.

    Parameters
    ----------
    fn
        A module-level function (it is pickled to the workers).
    pieces
        The independent pieces of work (months, file paths, origins...).
    *args, **kwargs
        Passed to every call; on a cluster they are scattered once, not per piece.
    client
        A ``distributed.Client`` or ``None`` (run here, one piece after the other, so
        at most one piece's memory is held at a time, or ``threads`` at a time).
    progress
        Show a progress bar over the pieces (text tqdm).
    desc
        The progress bar's label.
    threads
        Without a client: pieces run at a time in this process (threads; for work
        that releases the GIL, such as Arrow reads and numpy passes). Each running
        piece holds its own memory.

    Returns
    -------
    list
        The results in the order of ``pieces``.

    Notes
    -----
    On a cluster each worker holds the pieces it runs: memory per worker is about one
    piece's (times its threads), not the whole dataset's. Exceptions raised by a piece
    are raised here with their original type and message.
    """
    from tqdm import tqdm  # text bars: tqdm.auto would pull in ipywidgets

    pieces = list(pieces)
    if client is None and (threads <= 1 or len(pieces) < 2):
        return [
            fn(p, *args, **kwargs)
            for p in tqdm(pieces, desc=desc, disable=not progress, leave=False)
        ]
    if client is None:
        from concurrent.futures import ThreadPoolExecutor

        ex = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="salesml-piece")
        try:
            done = ex.map(lambda p: fn(p, *args, **kwargs), pieces)  # in order
            return list(tqdm(done, total=len(pieces), desc=desc, disable=not progress, leave=False))
        finally:  # after an error, the pieces not yet started are not run
            ex.shutdown(wait=True, cancel_futures=True)
    shared_args = [client.scatter(a, broadcast=True) if _big(a) else a for a in args]
    shared_kw = {k: client.scatter(v, broadcast=True) if _big(v) else v for k, v in kwargs.items()}
    futures = client.map(
        fn, pieces, *[[a] * len(pieces) for a in shared_args], pure=False, **shared_kw
    )
    out = []
    for fut in tqdm(futures, desc=desc, disable=not progress, leave=False):
        out.append(fut.result())  # in order; raises a piece's error with its own type
    return out


def _big(value: Any) -> bool:
    """Whether an argument is worth scattering once (frames, arrays), not sent per task."""
    return hasattr(value, "nbytes") or hasattr(value, "memory_usage")
