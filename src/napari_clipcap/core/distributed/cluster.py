"""Open a Dask cluster for a run: a new local one, or a running one by address.

``workers=N`` starts a local cluster of N single-threaded worker processes (one model
per process); ``scheduler=ADDRESS`` joins a running ``dask.distributed`` cluster, whose
workers must see the input paths. Either way the client (and a cluster started for the
run) is closed when the run ends. Every way a cluster cannot be had (both or neither
given, a bad worker count, an address that is not one, a scheduler that does not answer)
is an :class:`~napari_clipcap.core.errors.InvalidInputError`: one line for the user.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InvalidInputError, error_line

__all__ = ["check_scheduler_address", "open_cluster", "worker_count", "worker_device"]

#: Seconds to wait for a scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 20.0


def check_scheduler_address(scheduler: str) -> str:
    """``scheduler`` if it reads as a Dask address (``tcp://host:port``, ``host:port``).

    Raises
    ------
    InvalidInputError
        If it names no known scheme, or has no host or no port.
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import backends

    text = str(scheduler).strip()
    try:
        scheme, location = parse_address(text)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}, known: {', '.join(sorted(backends))}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or not port:
                raise ValueError(f"no host or no port in {text!r}")
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"--scheduler {text!r} is not a Dask scheduler address ({error_line(exc)}); "
            "give one such as tcp://10.0.0.5:8786"
        ) from None
    return text


@contextmanager
def open_cluster(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    processes: bool = True,
    timeout: float | None = None,
) -> Iterator:
    """A ``distributed.Client`` of a new local cluster of ``workers`` processes, or of
    the running cluster at ``scheduler``; closed (and a local cluster stopped) after.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster with this many single-threaded workers.
    scheduler : str, optional
        Address of a running scheduler.
    processes : bool
        Local workers as processes (the default) or as threads of this process.
    timeout : float, optional
        Seconds to wait for ``scheduler`` to answer (default :data:`CONNECT_TIMEOUT_S`).

    Raises
    ------
    InvalidInputError
        If both or neither are given, ``workers`` is below 1, ``scheduler`` is not an
        address or does not answer within ``timeout``.
    """
    if bool(workers) == bool(scheduler):
        raise InvalidInputError("give either a number of workers or a scheduler address")
    if workers is not None and int(workers) < 1:
        raise InvalidInputError(f"number of workers must be at least 1, got {workers}")
    client, cluster = _connect(workers, scheduler, processes, timeout)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(workers, scheduler, processes: bool, timeout: float | None):
    from distributed import Client, LocalCluster

    if scheduler:
        address = check_scheduler_address(scheduler)
        try:
            wait = CONNECT_TIMEOUT_S if timeout is None else float(timeout)
            return Client(address, timeout=f"{wait}s"), None
        except (OSError, TimeoutError) as exc:
            raise InvalidInputError(
                f"cannot reach the Dask scheduler {address}: {error_line(exc)}"
            ) from None
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        return Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def worker_count(client) -> int:
    """Workers the client's scheduler knows of now (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def worker_device(device: str) -> str:
    """``device``, or on a multi-GPU machine inside a Dask worker, this worker's GPU."""
    if device != "auto":
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        return device
    index = name if isinstance(name, int) else int(hashlib.md5(str(name).encode()).hexdigest(), 16)
    return f"cuda:{index % count}"
