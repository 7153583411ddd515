"""Compute pending rows as one graph of tasks, on Dask or here: ``reproduce --dask-*`` and ``run --dask-*``.

``python -m unlearnlib reproduce --dask-workers N`` (a local cluster, one thread per worker),
``--dask-scheduler tcp://...`` (an existing cluster) or a SLURM cluster (``grid.slurm_client``)
computes what the ledger lacks before the notebooks render from the ledger; ``run --dask-*``
computes a grid's rows the same way (:func:`compute_specs`).

The graph: each pending row is a task, and so is each model that several rows share (a
forgetting-quality run's 2N retrained models, a forget set's relearned references: no ledger row,
the model cache only). Each task waits on the tasks its kind requires (:mod:`unlearnlib.kinds.registry`:
``requires()``: the original's row, the retrain's row, per-sample scores, shared models), and on
nothing else: the whole graph is submitted at once, so a worker never idles while a task is ready
(no wave barrier). An experiment at tuned settings has a key that depends on its tuning row: when a
task whose kind settles keys (tuning) finishes, the plan is made again and the rows it made known
are submitted, waiting on what they require.

A task computes ONE row (or model), with the library's own function (the kind's ``compute``), into
a private scratch ledger (``UNLEARNLIB_LEDGER_DIR`` pointing at a temporary folder) that starts as
the driver's ledger at submission plus the rows of the tasks it waited on, so the rows it reads
are there. It returns the rows it added; the driver alone appends them to the real ledger (one
writer), skipping a key the ledger already holds at the current code version, so a retried task
(``retries=2``; a worker that dies is rescheduled by Dask) never writes a row twice. The model
cache, the data and the settings that enter a row's key (compute path, device) are the driver's:
the workers must see the same paths (a shared file system). Every task computes at
``compute_path.TASK_THREADS`` torch threads, serially or on a worker, so both write the same rows.

Tuning in parallel: each tuning run is one task and runs its Optuna trials one after another, with
the same sampler seed and budget as a serial run; the parallelism is across tasks, not trials.
"""
from __future__ import annotations

import math
import time
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from ..compute_path import TASK_THREADS
from ..kinds.cost import Cost
from ..kinds.registry import RelearnedReferences, RetrainedModel, kind_of, kinds  # noqa: F401 (the model tasks, by these names here too)
from ..results.ledger import Ledger, ledger_only
from ..profiles import activate_compute_path, get_profile
from ..settings import CACHE_DIR_ENV
from .tasks import (SHARED_SETTINGS, append_new, compute_row, driver_settings, fresh_rows, ledger_snapshot,  # noqa: F401 (names here too)
                    passed_through, run_after, with_rows)

_settings_of_driver = driver_settings
RETRIES = 2  # Dask retries of a task that raises; a worker that dies is rescheduled by the scheduler as well


class PlanNotConvergingError(RuntimeError):
    """Rows computed in this run are still pending when the plan is made again (their keys differ)."""


# ----------------------------------------------------------------------------- the graph


def task_graph(specs: Sequence, include: Callable[[Any], bool] | None = None) -> dict[Any, tuple]:
    """Each task that computing ``specs`` takes, with the tasks it waits on: what its kind
    requires, where that is one of ``specs``, a shared model (always a task) or ``include``-d
    (default: nothing else; a requirement left out is in the ledger, or the task computes it
    itself). Ordered so that every task comes after what it waits on."""
    chosen, graph = set(specs), {}

    def visit(spec, path: frozenset) -> None:
        if spec in graph:
            return
        if spec in path:
            raise ValueError(f"the row kinds' requirements form a cycle through {spec.label()}")
        needs = [need for need in kind_of(spec).requires(spec)
                 if need in chosen or kind_of(need).ledger is None or (include is not None and include(need))]
        for need in needs:
            visit(need, path | {spec})
        graph[spec] = tuple(dict.fromkeys(needs))

    for spec in specs:
        visit(spec, frozenset())
    return graph


def models_required(specs: Sequence) -> dict[Any, list]:
    """The shared models (tasks with no ledger row) each of ``specs`` waits on, for those that wait on any."""
    graph = task_graph(specs)
    return {spec: [m for m in graph[spec] if kind_of(m).ledger is None] for spec in specs
            if any(kind_of(m).ledger is None for m in graph[spec])}


def _closure(graph: dict, known: dict) -> dict:
    """Every task each task of ``graph`` waits on, directly or not (``known``: earlier tasks' closures)."""
    for spec, needs in graph.items():  # in order: a task's requirements come first
        known[spec] = tuple(dict.fromkeys(n for need in needs for n in (*known.get(need, ()), need)))
    return known


# ----------------------------------------------------------------------------- the driver


@dataclass(frozen=True)
class Utilization:
    """Busy core-seconds over wall time x workers. Busy: the time the workers spent computing this
    run's tasks (Dask's task stream; serially, each task's time), one thread per task. The new rows'
    own recorded seconds are reported beside it: they also count shared models that an earlier run
    left in the model cache (a row records its shadow or reference models' training time however it
    found them), so they can exceed the capacity (3.15 on issue 33's first partial rerun of cached
    U-LiRA shadows) and do not measure how busy the workers were."""

    busy_seconds: float
    wall_seconds: float
    workers: int
    row_seconds: float = math.nan

    @property
    def value(self) -> float:
        capacity = self.wall_seconds * self.workers
        return self.busy_seconds / capacity if capacity > 0 else math.nan

    def line(self) -> str:
        rows = "" if math.isnan(self.row_seconds) else (f"; the new rows record {self.row_seconds:.0f} s of their own "
                                                          "(shared models once, cached ones included)")
        return (f"utilization {self.value:.2f}: {self.busy_seconds:.0f} busy core-seconds (the tasks' compute time) over "
                f"{self.wall_seconds:.0f} s wall x {self.workers} worker(s){rows}")


def task_seconds(stream: Sequence[dict]) -> float:
    """Seconds the workers spent computing, from Dask's task-stream records (``startstops``' compute spans)."""
    return sum(float(span["stop"]) - float(span["start"]) for record in stream for span in record.get("startstops", ())
               if span.get("action") == "compute")


def recorded_seconds(rows: dict[str, pd.DataFrame], cost: Cost, charged: set | None = None) -> float:
    """The seconds ``rows`` (new rows by ledger kind) record computing, each key once, as each kind
    reads its own times (:meth:`kinds.RowKind.row_time`); ``charged``: see there."""
    total = 0.0
    for kind in kinds():
        table = rows.get(kind.ledger)
        for row in ([] if table is None or table.empty else table.drop_duplicates("key").to_dict("records")):
            try:
                time_ = kind.row_time(row, cost, charged)
            except (KeyError, TypeError, ValueError):
                time_ = None
            total += time_[0] if time_ else 0.0
    return total


@dataclass(frozen=True)
class Computed:
    appended: int  # keys appended to the ledger
    utilization: Utilization


def _workers(client) -> int:
    if client is None:
        return 1
    return sum(int(w.get("nthreads", 1)) for w in client.scheduler_info().get("workers", {}).values()) or 1


def _drive(ledger: Ledger, specs: Sequence, *, client, task: Callable, settings: dict, progress: bool, desc: str,
           include: Callable[[Any], bool] | None = None, replan: Callable[[], list] | None = None, cost: Cost | None = None) -> Computed:
    """Compute ``specs`` (and what :func:`task_graph` adds) on ``client`` (None: here, one task after
    another, through the same tasks), appending their rows; ``replan``: the rows pending now, called
    once the tasks that have finished are taken in, if one of them settles keys (on Dask), and
    whenever nothing is left to run, until nothing new comes."""
    from tqdm import tqdm

    started, workers = time.perf_counter(), _workers(client)
    serial_busy = 0.0  # serially: the tasks' own time (on Dask: the task stream's)
    submitted: dict = {}  # task -> its future (None: serially)
    closures: dict = {}
    finished: set = set()
    appended, row_seconds, charged = 0, 0.0, set()
    due = False  # a task that settles keys finished since the last plan
    bar = tqdm(total=0, desc=desc, disable=not progress)
    ready: deque = deque()  # serially: the tasks to run, in order
    if client is not None:
        from dask.distributed import as_completed

        running = as_completed()
        by_key: dict = {}

    def submit(batch: Sequence) -> None:
        graph = task_graph(batch, include)
        _closure(graph, closures)
        fresh = [spec for spec in graph if spec not in submitted]
        bar.total += len(fresh)
        bar.refresh()
        if client is None:
            ready.extend(fresh)
            submitted.update(dict.fromkeys(fresh))
            return
        # Sent once per batch, as a task's result rather than scattered data: a worker that dies holding
        # it loses nothing that cannot be recomputed (scattered data would be lost, and its tasks with it).
        snapshot = client.submit(passed_through, ledger_snapshot(ledger), pure=False) if fresh else None
        for spec in fresh:
            future = client.submit(run_after, task, spec, [submitted[need] for need in closures[spec]], snapshot, settings,
                                   retries=RETRIES, pure=False)
            submitted[spec], by_key[future.key] = future, spec
            running.add(future)

    def done(spec, rows: dict) -> None:
        nonlocal appended, row_seconds, due
        finished.add(spec)
        if cost is not None:
            row_seconds += recorded_seconds(fresh_rows(ledger, rows), cost, charged)
        appended += append_new(ledger, rows)
        bar.update()
        due = due or kind_of(spec).settles_keys

    def again() -> bool:
        pending = replan()
        repeated = [spec for spec in pending if spec in finished]
        if repeated:
            raise PlanNotConvergingError(f"{len(repeated)} row(s) computed earlier are still pending (their ledger key or code "
                                         f"version differs from the plan's), e.g. {repeated[0].label()}")
        new = [spec for spec in pending if spec not in submitted]
        if new:
            submit(pending)  # with the rows still running, so that the new ones wait on those they require
        return bool(new)

    stream = _task_stream(client)
    with stream:
        submit(specs)
        while True:
            if client is None:
                while ready:
                    spec, began = ready.popleft(), time.perf_counter()
                    rows = task(spec, ledger_snapshot(ledger), settings, None)
                    serial_busy += time.perf_counter() - began
                    done(spec, rows)
            else:
                for future in running:
                    done(by_key[future.key], future.result())
                    if due and replan is not None and not running.has_ready():  # one plan for the tuning runs that finished together
                        due = False
                        again()
            due = False
            if replan is None or not again():
                break
    bar.close()
    wall = time.perf_counter() - started
    busy_tasks = serial_busy if client is None else task_seconds(stream.data)
    return Computed(appended, Utilization(busy_tasks, wall, workers, row_seconds=row_seconds if cost is not None else math.nan))


def _task_stream(client):
    """Dask's record of every task's compute span on its worker (serially: nothing to record)."""
    if client is None:
        return nullcontext()
    from dask.distributed import get_task_stream

    return get_task_stream(client)


def compute_pending(
    profile: str,
    notebooks: list[str] | None = None,
    *,
    client=None,
    specs: Sequence | None = None,
    task: Callable[..., dict[str, pd.DataFrame]] = compute_row,
    progress: bool = True,
    parameters: dict[str, Any] | None = None,
) -> Computed:
    """Compute every pending row of the plan (``reproduce --plan``'s) for ``profile`` and
    ``notebooks`` as one graph (see the module docstring), on ``client`` (a
    ``dask.distributed.Client``; None: here, one row after another, through the same tasks).
    ``specs``: only these (a subset of the plan's rows, e.g. for a test); ``task``: the function
    a task runs (:func:`compute_row`'s signature). Returns the keys appended and the utilization."""
    from .plan import make_plan

    prof = get_profile(profile)  # fail on an unknown name before planning
    activate_compute_path(prof)  # the workers get this path
    if ledger_only():
        raise RuntimeError("computing is switched off (UNLEARNLIB_LEDGER_ONLY is set): nothing can be computed on Dask; "
                           "unset it, or render with --from-ledger without --dask-*")
    chosen = None if specs is None else set(specs)
    waiting: list = []

    def pending() -> list:
        plan = make_plan(profile, notebooks, parameters=parameters)
        waiting[:] = [n for n in plan.pending() if not n.known]
        return [n.spec for n in plan.pending() if n.known and (chosen is None or n.spec in chosen)]

    first = pending()
    outcome = _drive(Ledger(), first, client=client, task=task, settings=driver_settings(), progress=progress,
                     desc=f"rows of profile {profile}", replan=pending, cost=Cost(prof))
    if waiting and chosen is None:  # cannot happen while their tuning runs are computed first
        raise PlanNotConvergingError(f"{len(waiting)} row(s) still wait on tuning runs that are no longer pending, e.g. "
                                     f"{waiting[0].spec.label()}")
    return outcome


def compute_specs(specs: Sequence, *, client=None, ledger: Ledger | None = None, cache_root: str | Path | None = None,
                  progress: bool = True, task: Callable[..., dict[str, pd.DataFrame]] = compute_row) -> Computed:
    """Compute the rows of ``specs`` that ``ledger`` (default: the project's) lacks, and the rows
    they require that it lacks, as one graph on ``client`` (``run --dask-*``); ``cache_root``: the
    workers' model cache (``<cache_root>/models``); ``task``: as :func:`compute_pending`'s."""
    ledger = ledger or Ledger()
    settings = {**driver_settings(), **({CACHE_DIR_ENV: str(cache_root)} if cache_root is not None else {})}
    absent = lambda spec: not kind_of(spec).present(spec, ledger)  # noqa: E731
    return _drive(ledger, [s for s in dict.fromkeys(specs) if absent(s)], client=client, task=task, settings=settings,
                  progress=progress, desc="rows", include=absent)


SCHEDULER_TIMEOUT_S = 15  # a scheduler that exists answers in well under a second


class SchedulerUnreachableError(ValueError):
    """``--dask-scheduler`` names an address where no scheduler answers (the user's to fix: one line, exit 2)."""


@contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None):
    """A client on a local cluster of ``workers`` processes (one thread each) or on ``scheduler``."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except OSError as error:  # includes TimeoutError: nothing answered at that address
            raise SchedulerUnreachableError(
                f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S} s ({error}); start it "
                f"(`dask scheduler`, then `dask worker {scheduler}` on each machine) or drop --dask-scheduler to compute "
                "on this machine; nothing was computed") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is None or workers < 1:
        raise ValueError(f"workers {workers!r} is not allowed; a local cluster needs at least 1 worker")
    with LocalCluster(n_workers=workers, threads_per_worker=TASK_THREADS, processes=True) as cluster, Client(cluster) as client:
        yield client
