"""Grids of experiments: expand, run what is missing (locally or on Dask), collect a table.

Every row goes to the results ledger as it finishes (``runner.ResultStore``), so an
interrupted grid resumes where it stopped: finished runs are read back, the interrupted
one is redone. With computing switched off (``make figures``) a grid that lacks rows fails
at once, naming them.
The same grid runs unchanged on a Dask cluster, local or on SLURM (``slurm_client``), through the
one driver that ``reproduce`` uses (``distributed.compute_specs``: tasks on ledger snapshots, one
writer). Every row is computed at ``compute_path.TASK_THREADS`` torch threads, here or on a worker.
"""
from __future__ import annotations

import io
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd
from tqdm import tqdm

from ..algorithms import available, get_method
from ..compute_path import task_threads
from ..results.ledger import MissingResultError, ledger_only
from ..kinds.originals import study_data as _study_data
from ..paths import atomic_write_bytes
from ..profiles import Profile
from ..kinds.runner import ResultStore, run_experiment
from ..kinds.specs import ExperimentSpec, OriginalSpec
from ..results.store import ModelStore


def expand_grid(
    profile: Profile,
    *,
    datasets: Sequence[str],
    scenarios: Sequence[tuple[str, dict[str, Any]]],
    methods: Sequence[str] | str = "all",
    seeds: Sequence[int] | None = None,
    hyperparameters: dict[str, dict[str, Any]] | None = None,
) -> list[ExperimentSpec]:
    """Every (dataset, seed, scenario, method) combination as a spec; ``retrain`` is always
    included, since every method is measured against it."""
    methods = list(available()) if methods == "all" else list(methods)
    for method in methods:
        get_method(method)
    if "retrain" not in methods:
        methods.insert(0, "retrain")
    seeds = list(profile.seeds if seeds is None else seeds)
    hyperparameters = hyperparameters or {}
    return [
        ExperimentSpec.build(OriginalSpec.from_profile(profile, dataset, seed), name, method, hyperparameters=hyperparameters.get(method), **params)
        for dataset, seed, (name, params), method in itertools.product(datasets, seeds, scenarios, methods)
    ]


def _stores(cache_root: str | None) -> tuple[ModelStore, ResultStore]:
    """The model cache and the ledger under ``cache_root`` (``models/``, ``ledger/``), else the defaults."""
    if cache_root is None:
        return ModelStore(), ResultStore()
    return ModelStore(Path(cache_root) / "models"), ResultStore(Path(cache_root) / "ledger")


def _run_one(spec: ExperimentSpec, cache_root: str | None = None) -> dict:
    models, results = _stores(cache_root)
    return run_experiment(spec, data=_study_data(spec.original), models=models, results=results)


def _phases(specs: Iterable[ExperimentSpec]) -> list[list[ExperimentSpec]]:
    """Retrain runs first (other methods compare with them), then the rest."""
    retrains = [s for s in specs if s.method == "retrain"]
    others = [s for s in specs if s.method != "retrain"]
    return [phase for phase in (retrains, others) if phase]


def run_grid(
    specs: Sequence[ExperimentSpec],
    *,
    client=None,
    cache_root: str | Path | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every spec whose record is not cached yet and return all records as one table.

    ``client``: a ``dask.distributed.Client`` to run on a cluster (the cache directory must
    be shared with the workers), through ``distributed.compute_specs``; None runs here, in
    order. Either way each row is computed at one torch thread, so records are the same.
    ``cache_root`` overrides the cache directory (``<root>/models``, ``<root>/ledger``)."""
    root = str(cache_root) if cache_root is not None else None
    results = _stores(root)[1]
    unique = list(dict.fromkeys(specs))
    pending = [s for s in unique if s not in results]
    if pending and ledger_only():
        listed = "\n  ".join(s.label() for s in pending[:10])
        raise MissingResultError(
            f"the ledger ({results.ledger.root}) lacks {len(pending)} of {len(unique)} experiment rows, e.g.\n  {listed}\n"
            "compute them with `make reproduce` (resumes from the ledger), then commit data/ledger"
        )
    if client is not None:
        from .distributed import compute_specs

        compute_specs(pending, client=client, ledger=results.ledger, cache_root=root, progress=progress)
        return pd.DataFrame([results.load(s) for s in unique])
    by_original = defaultdict(list)
    for spec in pending:
        by_original[spec.original].append(spec)
    bar = tqdm(total=len(pending), desc="experiments", disable=not progress or not pending)
    with task_threads():
        for original in by_original:  # one dataset load and one original model per group
            for phase in _phases(by_original[original]):
                for spec in phase:
                    bar.set_postfix_str(spec.label())
                    _run_one(spec, root)
                    bar.update()
    bar.close()
    return pd.DataFrame([results.load(s) for s in unique])


def save_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a results table as parquet, atomically."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def slurm_client(*, jobs: int = 4, cores: int = 4, memory: str = "16GB", walltime: str = "04:00:00",
                 minimum_jobs: int | None = None, **kwargs):
    """A Dask client backed by SLURM jobs (dask-jobqueue); extra keywords go to SLURMCluster
    (queue, account, job_extra_directives, log_directory, ...). The cache directory must be on a
    file system the compute nodes share: set UNLEARNLIB_CACHE_DIR accordingly.

    ``jobs`` worker jobs are asked for once (``cluster.scale``); a job that ends (cancelled,
    preempted, past its walltime) is not replaced. With ``minimum_jobs``, the cluster adapts
    between ``minimum_jobs`` and ``jobs`` instead, and a lost job is resubmitted after Dask's
    lost-worker timeout (``distributed.deploy.lost-worker-timeout``, 15 s by default;
    scripts/slurm_single_node.sh measures it)."""
    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(cores=cores, processes=1, memory=memory, walltime=walltime, **kwargs)
    if minimum_jobs is None:
        cluster.scale(jobs=jobs)
    else:
        cluster.adapt(minimum_jobs=minimum_jobs, maximum_jobs=jobs)
    return Client(cluster)
