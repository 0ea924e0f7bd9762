"""Where independent pieces of work run: in this process, or on a Dask cluster.

A scheduler has one small interface: :meth:`~LocalScheduler.put` an object once (the training
set, the sampler, the network of the current update) and get a handle to pass to tasks; and
:meth:`~LocalScheduler.map` a function over items, getting the results back in item order.
The work it runs is a pure function of its arguments (every random stream is seeded from the
item, never from the worker), so every scheduler gives the same numbers; only the time
differs.

    make_scheduler("local")                 # in this process (the default)
    make_scheduler("processes:4")           # a dask.distributed LocalCluster of 4 processes
    make_scheduler("tcp://host:8786")       # an existing dask.distributed cluster

Dask is an optional dependency: ``pip install 'layersweep[distributed]'``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import uuid

from .exceptions import SchedulerError

#: seconds to wait for a Dask scheduler given by its address
CONNECT_TIMEOUT = 30
SPECS = "'local', 'processes', 'processes:N' or a scheduler address such as tcp://host:8786"


class LocalScheduler:
    """Runs everything in this process, in order: ``put`` returns the object itself."""

    spec = "local"
    workers = 1
    #: whether work leaves this process
    distributed = False

    def put(self, obj):
        """A handle to ``obj`` for :meth:`map`'s shared arguments (here: ``obj``)."""
        return obj

    def map(self, fn, items, *shared, on_result=None) -> list:
        """``[fn(*item, *shared) for item in items]``; ``items``: tuples of arguments;
        ``on_result(k, result)`` is called as each item's result arrives."""
        results = []
        for k, item in enumerate(items):
            results.append(fn(*item, *shared))
            if on_result is not None:
                on_result(k, results[-1])
        return results

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "LocalScheduler()"


class DaskScheduler(LocalScheduler):
    """Runs tasks on a dask.distributed cluster through ``client``.

    ``put`` scatters an object to every worker once (``broadcast``), so tasks that share it
    receive a reference, not a copy; ``map`` submits one task per item and gathers the
    results in item order. A worker that dies is replaced by Dask and its tasks run again
    elsewhere (they are pure); when that is not possible (every worker holding an object is
    gone, a task killed too many workers, the scheduler is unreachable), :class:`SchedulerError`
    is raised and nothing of the failed call is used. ``cluster``: a cluster this object
    started and closes with the client.
    """

    distributed = True

    def __init__(self, client, cluster=None, spec: str | None = None):
        self.client = client
        self.cluster = cluster
        self.spec = spec or str(getattr(client.scheduler, "address", "dask"))

    @property
    def workers(self) -> int:
        """Workers currently connected."""
        return len(self.client.scheduler_info().get("workers", {}))

    def put(self, obj):
        with _lost_workers("sending data to the workers"):
            try:
                return self.client.scatter(obj, broadcast=True, hash=False)
            except (TypeError, AttributeError, pickle.PicklingError) as exc:  # serialization
                raise SchedulerError(
                    f"{type(obj).__name__} cannot be sent to Dask workers ({exc}); run it with "
                    f"--scheduler local") from None

    def map(self, fn, items, *shared, on_result=None) -> list:
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "task")
        futures = [self.client.submit(fn, *item, *shared, key=f"{name}-{token}-{k}", pure=False)
                   for k, item in enumerate(items)]
        try:
            with _lost_workers(f"running {len(futures)} {name} task(s)"):
                if on_result is None:
                    return self.client.gather(futures)
                where = {future.key: k for k, future in enumerate(futures)}
                results = [None] * len(futures)
                for future, result in as_completed(futures, with_results=True):
                    results[where[future.key]] = result
                    on_result(where[future.key], result)
                return results
        except BaseException:
            self.client.cancel(futures)  # nothing of a failed map keeps running
            raise

    def close(self) -> None:
        """Close the client, and the cluster if this scheduler started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __repr__(self):
        return f"DaskScheduler({self.spec!r})"


class _lost_workers:
    """Turns Dask's "the work was lost" errors into :class:`SchedulerError`; errors raised
    by the task itself pass through unchanged."""

    def __init__(self, doing: str):
        self.doing = doing

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None:
            return False
        from concurrent.futures import CancelledError

        from distributed import KilledWorker
        from distributed.comm.core import CommClosedError

        lost = (KilledWorker, CommClosedError, CancelledError, TimeoutError)
        if isinstance(exc, lost) and not isinstance(exc, SchedulerError):
            raise SchedulerError(
                f"the Dask cluster lost the work while {self.doing} "
                f"({type(exc).__name__}: {exc}); nothing of it was used. Check the workers "
                f"(memory, crashes) and run again, or use --scheduler local") from exc
        return False


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """SIGINT ignored while worker processes start: they inherit it (a terminal's Ctrl-C
    reaches every process of the group), so an interrupt stops training cleanly here instead
    of killing the workers in the middle of an update."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ignore_ctrl_c_plugin():
    """A Dask worker plugin that ignores SIGINT in every worker of a local cluster, also in
    workers that replace dead ones."""
    from distributed import WorkerPlugin

    class IgnoreCtrlC(WorkerPlugin):
        def setup(self, worker):
            _ignore_sigint()

    return IgnoreCtrlC()


def _dask():
    try:
        import distributed
    except ImportError:
        raise SchedulerError("Dask schedulers need dask.distributed: "
                             "pip install 'layersweep[distributed]'") from None
    return distributed


def check_spec(spec: str) -> str:
    """``spec`` if it names a scheduler :func:`make_scheduler` can start or reach (its form
    only: nothing is started); else :class:`SchedulerError`."""
    count = spec.partition(":")[2] if spec.startswith("processes:") else "1"
    if spec in ("local", "processes") or "://" in spec or (
            spec.startswith("processes:") and count.isdigit() and int(count) >= 1):
        return spec
    raise SchedulerError(f"scheduler must be {SPECS}, e.g. processes:2; got {spec!r}")


def make_scheduler(spec="local"):
    """A scheduler from a spec: ``"local"``, ``"processes"`` (one process per core),
    ``"processes:N"``, a scheduler address (``tcp://host:8786``, ``tls://...``), a
    ``distributed.Client`` or a scheduler object (returned as is)."""
    if isinstance(spec, LocalScheduler):
        return spec
    if not isinstance(spec, str):
        distributed = _dask()
        if isinstance(spec, distributed.Client):
            return DaskScheduler(spec)
        raise SchedulerError(f"scheduler must be {SPECS} or a distributed.Client; got "
                             f"{type(spec).__name__}")
    check_spec(spec)
    if spec == "local":
        return LocalScheduler()
    if spec.startswith("processes"):
        count = spec.partition(":")[2] or str(os.cpu_count() or 1)
        distributed = _dask()
        # one thread per worker, and numba's threads off: the workers are the parallelism;
        # Ctrl-C is for this process (which stops after the current update), not the workers
        with _workers_ignore_ctrl_c():
            cluster = distributed.LocalCluster(
                n_workers=int(count), threads_per_worker=1, processes=True,
                dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"})
        client = distributed.Client(cluster)
        client.register_plugin(_ignore_ctrl_c_plugin(), name="layersweep-ignore-ctrl-c")
        return DaskScheduler(client, cluster, spec)
    distributed = _dask()  # an address
    try:
        client = distributed.Client(spec, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach a Dask scheduler at {spec!r} ({exc}): start one with "
            f"`dask scheduler` and workers with `dask worker {spec}` (each with layersweep "
            f"installed), or use --scheduler local") from None
    return DaskScheduler(client, spec=spec)
