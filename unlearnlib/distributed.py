"""``reproduce`` on Dask: every pending row of the plan (:mod:`unlearnlib.plan`) as a task, in waves.

``python -m unlearnlib reproduce --dask-workers N`` (a local cluster, one thread per worker),
``--dask-scheduler tcp://...`` (an existing cluster) or a SLURM cluster (``grid.slurm_client``)
computes what the ledger lacks before the notebooks render from the ledger. The waves follow the
rows' dependencies, re-planning before each one (tuned settings, and so the keys of the runs at
them, are known only once the tuning rows exist):

0. originals;
1. retrains, per-sample scores and memorization estimates (they need the original);
2. tuning runs (they need the original and the retrained model), the retrains on forget sets
   drawn from per-sample scores (difficulty: they read the memorization row of wave 1), and the
   forgetting-quality runs and relearning attacks of ``retrain`` and ``original`` (they train the
   retrained models that the other methods' runs on the same forget set read from the cache);
3. the remaining experiments, forgetting-quality runs and relearning attacks (at tuned settings).

A task computes ONE row, with the library's own function (``runner.run_experiment``,
``tuning.run_tuning``, ``fq_run.run_forgetting_quality``, ``relearn.run_relearning``,
``originals.original_summary``, ``originals.sample_score_rows`` / ``memorization_rows``), into a
private scratch ledger (``UNLEARNLIB_LEDGER_DIR`` pointing at a temporary folder) that starts as a
copy of the driver's ledger, so the rows the task reads (its original's, the retrain's, the
tuning run's) are there. The task returns the rows it added; the driver alone appends them to the
real ledger (one writer), skipping a key the ledger already holds at the current code version, so
a retried task (``retries=2``; a worker that dies is rescheduled by Dask) never writes a row twice.
The model cache, the data and the settings that enter a row's key (compute path, device) are the
driver's: the workers must see the same paths (a shared file system).

Tuning in parallel: each tuning run (one per method and forget size) is one task and runs its
Optuna trials one after another, with the same sampler seed and budget as a serial run, so its
row is the serial row; the parallelism is across tuning runs, not across trials. Nothing about
tuning itself changes (no batched ask/tell, no shared Optuna storage).

Runs of one forget set in the same wave may train the same cached model (a retrained model for
a forgetting-quality run, an attacked reference for a relearning attack) at once: each writes the
same file atomically, so results are unchanged; only time is lost. For that reason the runs of
``retrain`` and ``original``, which train the shared models, go in wave 2, before the other
methods' in wave 3. The 2N retrained models of such a forgetting-quality run are tasks of their
own (:class:`RetrainedModel`: no ledger row, the model cache only), and the run's row waits on
them: in one task they ran one after another (64 BreastMNIST retrains of the cpu profile took
41 min on one worker while the other sat idle at the end of its wave).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import torch

from .ledger import KINDS as LEDGER_KINDS, Ledger, ledger_only
from .plan import MemorizationNeed, Need, SampleScoresNeed, make_plan
from .profiles import activate_compute_path, get_profile
from .scenarios import scenario_inputs
from .settings import CACHE_DIR_ENV, COMPUTE_PATH_ENV, DATA_DIR_ENV, DEVICE_ENV, LEDGER_DIR_ENV, read
from .specs import ExperimentSpec, ForgettingQualitySpec, OriginalSpec

RETRIES = 2  # Dask retries of a task that raises; a worker that dies is rescheduled by the scheduler as well
WAVES = ("originals", "retrains, per-sample scores and memorization", "tuning (and the retrains that wait on scores or are shared by forgetting quality and relearning)",
         "experiments, forgetting quality and relearning")
# The settings a task runs under, taken from the driver: where data and models are, and what enters a row's key.
SHARED_SETTINGS = (DATA_DIR_ENV, CACHE_DIR_ENV, COMPUTE_PATH_ENV, DEVICE_ENV)


@dataclass(frozen=True)
class RetrainedModel:
    """One retrained model of a forgetting-quality run (``experiment``: the retrain on its forget
    set; ``seed``: its initialisation seed), trained into the model cache; it adds no ledger row."""

    experiment: ExperimentSpec
    seed: int

    def label(self) -> str:
        return f"retrained model (seed {self.seed}) of {self.experiment.label()}"


# Their forgetting-quality runs train the forget set's 2N retrained models; the other methods' read them.
TRAINS_SHARED_RETRAINS = ("retrain", "original")


def retrained_models(specs: Sequence) -> dict[Any, list[RetrainedModel]]:
    """The retrained models each forgetting-quality run of ``retrain`` or ``original`` in ``specs`` trains, by spec."""
    from .fq_run import retrained_seeds

    return {spec: [RetrainedModel(spec.experiment.retrain_spec(), seed) for seed in retrained_seeds(spec)]
            for spec in specs
            if isinstance(spec, ForgettingQualitySpec) and spec.experiment.method in TRAINS_SHARED_RETRAINS}


class PlanNotConvergingError(RuntimeError):
    """Rows computed in a wave are still pending when the plan is made again (their keys differ)."""


def wave(need: Need) -> int:
    """The wave (index into :data:`WAVES`) of a pending row."""
    if need.kind == "originals":
        return 0
    if need.kind in ("sample_scores", "memorization"):
        return 1
    if need.kind == "retrains":
        # A forget set drawn from per-sample scores (difficulty) reads the memorization row: in wave 1
        # its snapshot would lack that row, and every such task would train the estimate's models again.
        return 2 if "scores" in scenario_inputs(need.spec.scenario) else 1
    if need.kind == "tuning":
        return 2
    if need.kind in ("forgetting_quality", "relearning") and need.spec.experiment.method in TRAINS_SHARED_RETRAINS:
        return 2
    return 3


# ----------------------------------------------------------------------------- one task


def ledger_snapshot(ledger: Ledger) -> dict[str, bytes]:
    """The ledger's files as bytes, sent to every task of a wave (the ledger is small)."""
    return {kind: ledger.path(kind).read_bytes() for kind in LEDGER_KINDS if ledger.path(kind).exists()}


@contextmanager
def _settings(values: dict[str, str | None]):
    """Set (or unset) environment settings for the duration of one task, then restore them."""
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _compute(spec, ledger: Ledger) -> None:
    """Compute ``spec``'s row into ``ledger`` with the function the notebooks use."""
    from .fq_run import run_forgetting_quality
    from .grid import _study_data
    from .originals import memorization_rows, original_summary, sample_score_rows
    from .relearn import RelearnSpec, run_relearning
    from .runner import ResultStore, prepare, run_experiment, unlearned_model
    from .specs import ForgettingQualitySpec, TuningSpec
    from .store import ModelStore
    from .tuning import run_tuning

    models, results = ModelStore(), ResultStore(ledger.root)
    if isinstance(spec, (SampleScoresNeed, MemorizationNeed)):
        original = spec.original
        data = lambda: _study_data(original)  # noqa: E731
        if isinstance(spec, SampleScoresNeed):
            sample_score_rows(original, data=data, models=models, ledger=ledger)
        else:
            memorization_rows(original, spec.n_models, data=data, ledger=ledger)
        return
    original = spec if isinstance(spec, OriginalSpec) else spec.original if isinstance(spec, ExperimentSpec) else spec.experiment.original
    data = _study_data(original)
    if isinstance(spec, OriginalSpec):
        original_summary(spec, data=data, models=models, ledger=ledger)
    elif isinstance(spec, ExperimentSpec):
        run_experiment(spec, data=data, models=models, results=results)
    elif isinstance(spec, TuningSpec):
        run_tuning(spec, data=data, models=models, results=results)
    elif isinstance(spec, ForgettingQualitySpec):
        run_forgetting_quality(spec, data=data, models=models, results=results)
    elif isinstance(spec, RelearnSpec):
        run_relearning(spec, data=data, models=models, results=results)
    elif isinstance(spec, RetrainedModel):
        _, split, task = prepare(spec.experiment, data, models, ledger=ledger)
        unlearned_model(spec.experiment, task, split, models, progress=False, seed=spec.seed)
    else:
        raise TypeError(f"no task computes a {type(spec).__name__}; known: originals, experiments, tuning, forgetting quality, "
                        "relearning, per-sample scores, memorization")


def _same(value):
    return value


def _after(task: Callable, spec, prerequisites: list, **arguments):
    """``task(spec, **arguments)``; Dask starts it once ``prerequisites`` (futures) are done."""
    return task(spec, **arguments)


def _identities(table: pd.DataFrame) -> set[tuple[str, str]]:
    if table.empty or "code_version" not in table:
        return set()
    return set(zip(table["key"].astype(str), table["code_version"].astype(str)))


def compute_row(spec, snapshot: dict[str, bytes], settings: dict[str, str | None], threads: int | None = None) -> dict[str, pd.DataFrame]:
    """One task: compute ``spec``'s row in a scratch ledger that starts as ``snapshot`` (the
    driver's ledger files) and return the rows it added, by ledger kind (the row itself, and any
    row it needed that the snapshot lacked). ``settings``: the driver's environment settings
    (:data:`SHARED_SETTINGS`); ``threads``: the driver's torch thread count (kernels sum in an
    order that depends on it, so the same count gives the same numbers)."""
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    scratch = Path(tempfile.mkdtemp(prefix="unlearnlib-task-ledger-"))
    try:
        for kind, payload in snapshot.items():
            (scratch / f"{kind}.csv").write_bytes(payload)
        with _settings({**settings, LEDGER_DIR_ENV: str(scratch)}):
            ledger = Ledger(scratch)
            before = {kind: _identities(ledger.table(kind)) for kind in LEDGER_KINDS}
            _compute(spec, ledger)
            added = {}
            for kind in LEDGER_KINDS:
                table = ledger.table(kind)
                if table.empty:
                    continue
                new = [identity not in before[kind] for identity in zip(table["key"].astype(str), table["code_version"].astype(str))]
                if any(new):
                    added[kind] = table[new].reset_index(drop=True)
            return added
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ----------------------------------------------------------------------------- the driver


def append_new(ledger: Ledger, rows: dict[str, pd.DataFrame]) -> int:
    """Append each key of ``rows`` the ledger lacks at that code version (the driver is the one
    writer); a key already there (a retried task, two tasks that made one shared row) is skipped.
    Returns how many keys were appended."""
    appended = 0
    for kind, table in rows.items():
        fresh = [key for key, group in table.groupby("key", sort=False)
                 if ledger.rows(kind, str(key), str(group["code_version"].iloc[0])) is None]
        if fresh:
            ledger.put(kind, table[table["key"].isin(fresh)])
            appended += len(fresh)
    return appended


def _settings_of_driver() -> dict[str, str | None]:
    return {name: read(name) for name in SHARED_SETTINGS}


def compute_pending(
    profile: str,
    notebooks: list[str] | None = None,
    *,
    client=None,
    specs: Sequence | None = None,
    task: Callable[..., dict[str, pd.DataFrame]] = compute_row,
    progress: bool = True,
    parameters: dict[str, Any] | None = None,
) -> int:
    """Compute every pending row of the plan (``reproduce --plan``'s) for ``profile`` and
    ``notebooks``, wave by wave (see the module docstring), on ``client`` (a
    ``dask.distributed.Client``; None: here, one row after another, through the same tasks).
    ``specs``: only these (a subset of the plan's rows, e.g. for a test); ``task``: the function
    a task runs (:func:`compute_row`'s signature). Returns how many keys were appended."""
    from tqdm import tqdm

    activate_compute_path(get_profile(profile))  # fail on an unknown name before planning; the workers get this path
    if ledger_only():
        raise RuntimeError("computing is switched off (UNLEARNLIB_LEDGER_ONLY is set): nothing can be computed on Dask; "
                           "unset it, or render with --from-ledger without --dask-*")
    chosen = None if specs is None else set(specs)
    settings, threads = _settings_of_driver(), torch.get_num_threads()
    attempted: set = set()
    appended = 0
    while True:
        plan = make_plan(profile, notebooks, parameters=parameters)
        pending = [n for n in plan.pending() if n.known and (chosen is None or n.spec in chosen)]
        if not pending:
            waiting = [n for n in plan.pending() if not n.known]
            if waiting and chosen is None:  # cannot happen while their tuning runs are computed first
                raise PlanNotConvergingError(f"{len(waiting)} row(s) still wait on tuning runs that are no longer pending, e.g. "
                                             f"{waiting[0].spec.label()}")
            return appended
        current = min(wave(n) for n in pending)
        batch = [n.spec for n in pending if wave(n) == current]
        again = [s for s in batch if s in attempted]
        if again:
            raise PlanNotConvergingError(f"{len(again)} row(s) computed earlier are still pending (their ledger key or code version "
                                         f"differs from the plan's), e.g. {again[0].label()}")
        attempted.update(batch)
        ledger = Ledger(plan.ledger)
        snapshot = ledger_snapshot(ledger)
        shared_retrains = retrained_models(batch)
        models = list(dict.fromkeys(m for trained in shared_retrains.values() for m in trained))  # a model two runs share, once
        bar = tqdm(total=len(models) + len(batch), desc=f"wave {current + 1}/{len(WAVES)}: {WAVES[current]}", disable=not progress)
        if client is None:
            for spec in [*models, *batch]:
                appended += append_new(ledger, task(spec, snapshot, settings, threads))
                bar.update()
        else:
            from dask.distributed import as_completed

            # Sent once, as a task's result rather than scattered data: a worker that dies holding it
            # loses nothing that cannot be recomputed (scattered data would be lost, and its tasks with it).
            shared = client.submit(_same, snapshot, pure=False)
            common = dict(snapshot=shared, settings=settings, threads=threads, retries=RETRIES, pure=False)
            model_futures = dict(zip(models, client.map(task, models, **common))) if models else {}
            futures = [client.submit(_after, task, spec, [model_futures[m] for m in shared_retrains.get(spec, [])], **common)
                       for spec in batch]
            for future in as_completed([*model_futures.values(), *futures]):
                appended += append_new(ledger, future.result())
                bar.update()
        bar.close()


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
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        yield client


def share_cores(workers: int) -> int:
    """Give each of ``workers`` local worker processes an equal share of this machine's cores as
    torch threads (the tasks run at the driver's count, so the driver takes it too). More threads
    than cores in all is ruinous: on 2 cores, 2 processes x 2 threads trained at 0.04-0.22x the
    speed of one process x 2 threads, 2 x 1 thread at 1.2-1.6x (benchmarks/process_parallelism.py).
    Returns the count; numbers equal a serial run's at the same count."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    if torch.get_num_threads() * workers > (os.cpu_count() or 1):
        print(f"{workers} local workers on {os.cpu_count()} cores: {threads} torch thread(s) each "
              f"(a serial run at OMP_NUM_THREADS={threads} computes the same numbers)", flush=True)
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def reproduce_on_dask(*, profile: str, notebooks: list[str] | None = None, workers: int | None = None, scheduler: str | None = None,
                      client=None, **render: Any) -> list[Path]:
    """``reproduce`` on Dask: compute every pending row on the cluster, then render the notebooks
    from the ledger (``--from-ledger``: a row the plan missed fails the render, naming it)."""
    from .reproduce import reproduce

    parameters = render.get("parameters")
    if client is not None:
        compute_pending(profile, notebooks, client=client, parameters=parameters)
    else:
        if workers and not scheduler:
            share_cores(workers)
        with dask_client(workers=workers, scheduler=scheduler) as own:
            compute_pending(profile, notebooks, client=own, parameters=parameters)
    return reproduce(profile=profile, notebooks=notebooks, from_ledger=True, **render)
