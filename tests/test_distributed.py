"""``reproduce`` on Dask: the same rows as a serial run, one writer, a dying worker's task retried, one
graph of tasks that wait only on what their kind requires."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from unlearnlib.execution import distributed
from unlearnlib.results.ledger import Ledger
from unlearnlib.kinds.registry import MemorizationNeed, RetrainedModel, SampleScoresNeed, kind_of
from unlearnlib.execution.plan import make_plan, notebook_parameters
from unlearnlib.profiles import get_profile
from unlearnlib.provenance import config_key, stamp
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec

from conftest import needs_real

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "08_patient_level"  # the cheapest study notebook with tuning, retrains and tuned experiments


def _private(monkeypatch, folder: Path) -> Ledger:
    """A private ledger and model cache under ``folder``, read by the library and the plan."""
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(folder / "ledger"))
    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(folder / "cache"))
    return Ledger(folder / "ledger")


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("dask.distributed")
    with distributed.dask_client(workers=2) as c:
        yield c


def _results(table: pd.DataFrame) -> pd.DataFrame:
    """A ledger table without provenance and wall times (which differ run to run), by key."""
    provenance = set(stamp("k", "smoke", "v")) - {"key"}
    timing = [c for c in table if "seconds" in c or c in ("rte", "cost_in_retrains", "trials")]
    return table.drop(columns=[*provenance, *timing], errors="ignore").sort_values("key").reset_index(drop=True)


@needs_real("ham10000")
def test_a_two_worker_cluster_writes_the_ledger_a_serial_run_writes(client, tmp_path, monkeypatch):
    """Notebook 08's rows computed as its cells compute them in a serial ``reproduce`` (in a process
    with more than one torch thread, as a kernel starts) and on two one-thread Dask workers: the
    same ledger, every result column equal (issue 31: tuning once chose other settings serially)."""
    from unlearnlib.execution import study
    from unlearnlib.profiles import activate_compute_path

    monkeypatch.chdir(ROOT)  # the notebooks' parameters cells are read from the repository
    torch.set_num_threads(2)  # a kernel's default on this machine; notebook.start pins it, as every entry point does
    prof = get_profile("smoke")
    activate_compute_path(prof)  # what notebook.start does first
    assert torch.get_num_threads() == 1
    p = notebook_parameters(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb")
    f = p["forget_fraction"]

    serial = _private(monkeypatch, tmp_path / "serial")  # notebook 08's cells, one row after another
    study.run_study_grid(prof, datasets=[p["dataset"]], scenarios=[("random", {"fraction": f, "unit": "image"}), ("random", {"fraction": f})],
                         methods=["original", "retrain", *prof.focus_methods], seeds=prof.seeds, tuning_fraction=f, progress=False)

    torch.set_num_threads(2)  # the driver's count does not matter: every task computes at one thread
    on_dask = _private(monkeypatch, tmp_path / "dask")
    computed = distributed.compute_pending("smoke", [NOTEBOOK], client=client, progress=False)
    assert computed.appended > 0 and computed.utilization.workers == 2
    # Busy time comes from the workers' task stream: it cannot exceed the capacity (rows' own seconds could, from the cache)
    assert 0 < computed.utilization.busy_seconds and computed.utilization.value <= 1.0

    kinds = [kind for kind in ("originals", "tuning", "experiments", "sample_scores", "memorization") if len(serial.table(kind))]
    assert kinds[:3] == ["originals", "tuning", "experiments"]
    # The cluster computes more than these cells: notebook 08's grid also holds the pooled noise floor, whose retrains
    # come from every analysis (05's difficulty sets need per-sample scores). The rows both computed must be equal.
    assert set(kinds) <= {k for k in ("originals", "tuning", "experiments", "sample_scores", "memorization") if len(on_dask.table(k))}
    assert len(on_dask.table("noise_floor"))
    for kind in kinds:
        expected, got = _results(serial.table(kind)), _results(on_dask.table(kind))
        got = got[got["key"].isin(expected["key"])].reset_index(drop=True)
        assert list(got["key"]) == list(expected["key"]), f"{kind}: the cluster missed rows the serial run computed"
        assert set(expected.columns) <= set(got.columns), kind  # the cluster's table also holds other scenarios' columns
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, check_exact=True, obj=kind)
    assert (on_dask.table("experiments")["tuned"].astype(str) == "True").any()  # the rows at tuned settings were planned again
    # Nothing is left to compute, and a second pass appends nothing.
    assert distributed.compute_pending("smoke", [NOTEBOOK], client=client, progress=False).appended == 0


def _dies_once(spec, snapshot, settings, threads=None, *, flag: str):
    """A task whose first attempt kills its worker process, as a node that goes down does."""
    if not os.path.exists(flag):
        Path(flag).touch()
        os._exit(1)
    return distributed.compute_row(spec, snapshot, settings, threads)


@needs_real("ham10000")
def test_the_task_of_a_worker_that_dies_is_retried_and_its_row_written_once(client, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ledger = _private(monkeypatch, tmp_path)
    original = OriginalSpec.from_profile(get_profile("smoke"), "ham10000", 0)
    flag = tmp_path / "died"
    appended = distributed.compute_pending("smoke", [NOTEBOOK], client=client, specs=[original], progress=False,
                                           task=functools.partial(_dies_once, flag=str(flag)))
    assert flag.exists()  # the first attempt died
    assert appended.appended == 1
    table = ledger.table("originals")
    assert list(table["key"]) == [config_key(original)]  # once: the ledger refuses a repeated key, and so does the driver


def test_a_grid_on_the_cluster_survives_a_dying_worker_and_writes_each_key_once(client, tmp_path):
    """``run --dask-workers``: the grid's rows and the rows they require (the original's) through
    the same driver; the first task kills its worker, Dask reruns it, each key lands once."""
    from unlearnlib.execution.grid import expand_grid, run_grid
    from unlearnlib.profiles import Profile
    from unlearnlib.training import TrainConfig

    unit = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=1, batch_size=32), seeds=(0,))
    specs = expand_grid(unit, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1})], methods=["gradient_ascent"])
    ledger = Ledger(tmp_path / "ledger")
    flag = tmp_path / "died"
    graph = distributed.task_graph(specs, lambda spec: not kind_of(spec).present(spec, ledger))
    assert [kind_of(s).name for s in graph] == ["originals", "retrains", "experiments"]  # the original is a task of its own, first
    computed = distributed.compute_specs(specs, client=client, ledger=ledger, cache_root=tmp_path, progress=False,
                                         task=functools.partial(_dies_once, flag=str(flag)))
    assert flag.exists() and computed.appended == 3
    assert len(ledger.table("experiments")) == 2 and len(ledger.table("originals")) == 1
    table = run_grid(specs, client=client, cache_root=tmp_path, progress=False)  # all there: read back, nothing computed
    assert sorted(table["method"]) == ["gradient_ascent", "retrain"] and table["key"].is_unique


def _recording(spec, snapshot, settings, threads=None, *, log: str):
    """compute_row, noting the kind of each task as it starts (workers share the file system)."""
    with open(log, "a") as out:
        out.write(type(spec).__name__ + "\n")
    return distributed.compute_row(spec, snapshot, settings, threads)


@needs_real("breastmnist")
def test_on_the_cluster_a_forgetting_quality_row_waits_on_its_retrained_models(client, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    ledger = _private(monkeypatch, tmp_path)
    fq = next(n.spec for n in make_plan("smoke", ["07_privacy"]).pending()
              if n.kind == "forgetting_quality" and n.spec.experiment.method == "retrain")
    log = tmp_path / "tasks.log"
    appended = distributed.compute_pending("smoke", ["07_privacy"], client=client, specs=[fq], progress=False,
                                           task=functools.partial(_recording, log=str(log)))
    started = log.read_text().split()
    assert started.count("RetrainedModel") == 2 * fq.n_models and started[-1] == "ForgettingQualitySpec"  # the row waited on them
    assert list(ledger.table("forgetting_quality")["key"]) == [config_key(fq)] and appended.appended >= 1
    assert len(list((tmp_path / "cache" / "models" / "retrain").glob("*"))) == 2 * fq.n_models  # each trained once


@needs_real("ham10000")
def test_per_sample_scores_and_memorization_as_tasks_equal_the_difficulty_table(tmp_path, monkeypatch):
    """Here, without a cluster (client=None runs the same tasks one after another)."""
    from unlearnlib.kinds.originals import difficulty_table

    monkeypatch.chdir(ROOT)
    torch.set_num_threads(1)  # the serial difficulty_table below runs at the tasks' count
    prof = get_profile("smoke")
    original = OriginalSpec.from_profile(prof, "ham10000", 0)
    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))  # one cache: the original trains once
    expected = difficulty_table(original, memorization_models=prof.memorization_models, ledger=Ledger(tmp_path / "serial"))
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "tasks"))
    needs = [SampleScoresNeed(original), MemorizationNeed(original, prof.memorization_models)]
    assert distributed.compute_pending("smoke", ["05_difficulty"], specs=needs, progress=False).appended == 2
    ledger = Ledger(tmp_path / "tasks")
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")  # read back: a missing row fails, nothing is computed
    got = difficulty_table(original, memorization_models=prof.memorization_models, ledger=ledger)
    pd.testing.assert_frame_equal(got, expected)


def test_the_driver_appends_a_key_once_and_skips_one_already_there(tmp_path):
    ledger = Ledger(tmp_path)
    row = {**stamp("k1", "smoke", "v1"), "test_acc": 0.5}
    assert distributed.append_new(ledger, {"originals": pd.DataFrame([row])}) == 1
    again = {**row, "test_acc": 0.9, "finished_utc": "later"}  # a retried task's copy
    assert distributed.append_new(ledger, {"originals": pd.DataFrame([again, {**stamp("k2", "smoke", "v1"), "test_acc": 0.7}])}) == 1
    table = ledger.table("originals").set_index("key")
    assert sorted(table.index) == ["k1", "k2"] and table.loc["k1", "test_acc"] == 0.5


def test_each_task_waits_only_on_what_its_kind_requires():
    """The graph: an original first; a retrain and a tuning run wait on their originals only (so
    either starts while the other, however long, runs); a method's run on the retrain too; a
    difficulty forget set on the scores it ranks by; a forgetting-quality run on its forget set's
    2N retrained models, which it shares with every method's run there."""
    prof = get_profile("smoke")
    original = OriginalSpec.from_profile(prof, "ham10000", 0)
    retrain = ExperimentSpec.build(original, "random", "retrain", fraction=0.1)
    method = ExperimentSpec.build(original, "random", prof.focus_methods[0], fraction=0.1)
    from unlearnlib.kinds.specs import ForgettingQualitySpec, tuning_spec

    tuning = tuning_spec(prof, "ham10000", prof.focus_methods[0])
    graph = distributed.task_graph([method, tuning, retrain, original])
    assert list(graph).index(original) < list(graph).index(retrain) < list(graph).index(method)  # what a task waits on comes first
    assert graph[original] == () and graph[retrain] == (original,) and graph[method] == (original, retrain)
    assert graph[tuning] == ()  # its original (tuning seed) is not among the rows to compute: in the ledger, or computed by the task
    assert distributed.task_graph([tuning, tuning.experiment.original])[tuning] == (tuning.experiment.original,)

    hard = ExperimentSpec.build(original, "difficulty", "retrain", kind="hard", size=15, score="memorization")
    scores, memorization = SampleScoresNeed(original), MemorizationNeed(original, prof.memorization_models)
    graph = distributed.task_graph([hard, scores, memorization, original])
    assert graph[hard] == (original, scores, memorization) and graph[scores] == (original,) and graph[memorization] == ()

    fq, other = ForgettingQualitySpec(retrain, n_models=2), ForgettingQualitySpec(method, n_models=2)
    graph = distributed.task_graph([other, fq])
    models = [m for m in graph if isinstance(m, RetrainedModel)]
    assert len(models) == 4 and graph[fq] == graph[other] == tuple(models)  # shared: each model is one task
    assert all(kind_of(m).ledger is None for m in models)  # a model task writes no row


def _fake_rows(spec, snapshot, settings, threads=None):
    """A task that trains nothing: the row's provenance only (a tuning row's best setting is the
    low end of the method's first searched parameter); a model task adds no row."""
    import json

    from unlearnlib.algorithms import get_method

    kind = kind_of(spec)
    if kind.ledger is None:
        return {}
    row = stamp(kind.key(spec), "smoke", kind.code_version(spec))
    if kind.settles_keys:
        name, (kind_, *bounds) = next(iter(get_method(spec.experiment.method).hyperparameters.search_space.items()))
        row["best_params"] = json.dumps({name: bounds[0][0] if kind_ == "choice" else bounds[0]})
    return {kind.ledger: pd.DataFrame([row])}


def test_the_driver_submits_the_whole_graph_at_once_each_task_waiting_on_its_requirements(tmp_path, monkeypatch):
    """No wave barrier: every row whose key is known is submitted at once, each waiting on the
    futures of what its kind requires and nothing else; the rows at tuned settings follow each
    tuning run as it finishes."""
    from dask.distributed import Client

    monkeypatch.chdir(ROOT)
    _private(monkeypatch, tmp_path)
    batches, waits = [], {}
    real_graph = distributed.task_graph
    monkeypatch.setattr(distributed, "task_graph", lambda specs, include=None: batches.append(list(specs)) or real_graph(specs, include))
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        spec_of, submit = {}, client.submit

        def recording(fn, *args, **kwargs):
            future = submit(fn, *args, **kwargs)
            if fn is distributed.run_after:
                spec_of[future.key] = args[1]
                waits[args[1]] = {spec_of[f.key] for f in args[2]}
            return future

        monkeypatch.setattr(client, "submit", recording)
        computed = distributed.compute_pending("smoke", [NOTEBOOK], client=client, task=_fake_rows, progress=False)
    plan = make_plan("smoke", [NOTEBOOK])
    assert not plan.pending() and computed.appended == len(plan.needs)
    first = {kind_of(s).name for s in batches[0]}
    # All at once: untuned runs beside the tuning runs, and the pooled noise floor the notebook reads (with the
    # per-sample scores and memorization estimate its difficulty arms' forget sets are ranked by).
    assert first == {"originals", "retrains", "tuning", "experiments", "noise_floor", "sample_scores", "memorization"}
    tuned = [s for s in waits if getattr(s, "hyperparameters", ()) and kind_of(s).name == "experiments"]
    assert tuned and all(s not in batches[0] for s in tuned)  # known only once their tuning row is in
    for spec, needs in waits.items():
        expected = {n for n in kind_of(spec).requires(spec)}
        assert needs <= expected, spec.label()  # nothing else: a retrain never waits on a tuning run
        if spec in batches[0]:
            assert needs == expected & set(batches[0]), spec.label()


def test_utilization_is_the_tasks_compute_time_over_wall_time_times_workers():
    from unlearnlib.kinds.cost import Cost

    u = distributed.Utilization(busy_seconds=180.0, wall_seconds=100.0, workers=2, row_seconds=630.0)
    assert u.value == pytest.approx(0.9) and u.line().startswith("utilization 0.90: 180 busy core-seconds")
    assert "the new rows record 630 s" in u.line()
    assert distributed.Utilization(0.0, 0.0, 2).value != distributed.Utilization(0.0, 0.0, 2).value  # nan: no time passed
    stream = [{"startstops": [{"action": "transfer", "start": 0.0, "stop": 5.0}, {"action": "compute", "start": 5.0, "stop": 12.5}]},
              {"startstops": [{"action": "compute", "start": 1.0, "stop": 3.0}]}, {"key": "no spans"}]
    assert distributed.task_seconds(stream) == pytest.approx(7.5 + 2.0)  # compute spans only
    cost = Cost(get_profile("smoke"))
    rows = {
        "originals": pd.DataFrame([{"key": "o", "dataset": "ham10000", "n_train": 300, "train_seconds": 10.0}]),
        "experiments": pd.DataFrame([{"key": "r", "method": "retrain", "dataset": "ham10000", "forget_size": 30, "seconds": 8.0, "eval_seconds": 1.0},
                                     {"key": "e", "method": "ssd", "dataset": "ham10000", "forget_size": 30, "seconds": 2.0, "eval_seconds": 1.0}]),
        "memorization": pd.DataFrame([{"key": "m", "dataset": "ham10000", "n_models": 4, "seconds": 40.0, "sample": i} for i in range(3)]),
        "sample_scores": pd.DataFrame([{"key": "s", "sample": 0}]),  # records no time
    }
    assert distributed.recorded_seconds(rows, cost) == pytest.approx(10.0 + 9.0 + 3.0 + 40.0)  # the memorization key once


def test_serial_utilization_counts_each_tasks_own_time(tmp_path, monkeypatch):
    """Serially the busy time is the tasks' time: never above the wall time of one worker."""
    ran = []

    def task(spec, snapshot, settings, threads):
        ran.append(spec)
        return {}

    monkeypatch.setattr(distributed, "task_graph", lambda batch, include: list(batch))
    monkeypatch.setattr(distributed, "_closure", lambda graph, closures: closures.update({s: () for s in graph}))
    monkeypatch.setattr(distributed, "kind_of", lambda spec: type("Kind", (), {"settles_keys": False}))
    computed = distributed._drive(Ledger(tmp_path), ["a", "b"], client=None, task=task, settings={}, progress=False, desc="t")
    u = computed.utilization
    assert ran == ["a", "b"] and u.workers == 1 and 0 < u.busy_seconds <= u.wall_seconds


@pytest.mark.parametrize("argv, message", [
    (["--dask-workers", "0"], "--dask-workers 0 is not allowed; --dask-workers must be an integer >= 1"),
    (["--dask-workers", "2", "--from-ledger"], "--from-ledger computes nothing"),
])
def test_reproduce_refuses_bad_dask_options_before_starting_a_cluster(argv, message, capsys):
    from unlearnlib.cli import main

    assert main(["reproduce", "--profile", "smoke", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_forgetting_quality_runs_retrains_are_tasks_of_their_own_and_its_row_is_unchanged(tmp_path, monkeypatch):
    """The 2N retrained models of ``retrain``'s forgetting-quality run are tasks of their own (so
    the workers share them); the row, computed after them, trains no model and equals the row
    computed in one task."""
    from test_fq import _spec as experiment  # the synthetic unit-profile experiment of the forgetting-quality tests
    from unlearnlib.kinds import runner
    from unlearnlib.kinds.fq_run import retrained_seeds, run_forgetting_quality
    from unlearnlib.kinds.runner import ResultStore
    from unlearnlib.kinds.specs import ForgettingQualitySpec
    from unlearnlib.results.store import ModelStore

    spec, other = ForgettingQualitySpec(experiment("retrain"), n_models=4), ForgettingQualitySpec(experiment("finetune"), n_models=4)
    shared = distributed.models_required([spec, other])
    assert shared[spec] == shared[other]  # another method's run waits on the same models, read from the cache
    assert [m.seed for m in shared[spec]] == retrained_seeds(spec) and len(set(retrained_seeds(spec))) == 8

    one_task = _private(monkeypatch, tmp_path / "one")
    expected = run_forgetting_quality(spec, models=ModelStore(tmp_path / "one" / "cache" / "models"), results=ResultStore(one_task.root))

    ledger = _private(monkeypatch, tmp_path / "split")
    settings = distributed._settings_of_driver()
    for model in shared[spec]:
        distributed.append_new(ledger, distributed.compute_row(model, distributed.ledger_snapshot(ledger), settings))
    assert ledger.table("forgetting_quality").empty  # a model task writes no row

    def no_training(method, *args, **kwargs):
        raise AssertionError(f"the row's task trained a {method} model")

    monkeypatch.setattr(runner, "unlearn", no_training)
    row = distributed.compute_row(spec, distributed.ledger_snapshot(ledger), settings)["forgetting_quality"].iloc[0]
    for column in ("forget_score", "forgetting_quality", "relative_to_retrain", "ci_low", "ci_high", "retain_acc_ratio", "test_acc_ratio"):
        assert row[column] == pytest.approx(expected[column]), column
    assert row["retrain_seconds"] > 0  # the models' recorded training time, read from the cache


class _FakeSLURMCluster:
    """Records what grid.slurm_client asks of dask-jobqueue's SLURMCluster (no Slurm needed)."""

    def __init__(self, **kwargs):
        self.kwargs, self.calls = kwargs, []

    def scale(self, **kwargs):
        self.calls.append(("scale", kwargs))

    def adapt(self, **kwargs):
        self.calls.append(("adapt", kwargs))


def test_slurm_client_scales_to_jobs_or_with_minimum_jobs_adapts_so_a_lost_job_is_replaced(monkeypatch):
    import sys
    import types

    from unlearnlib.execution.grid import slurm_client

    monkeypatch.setitem(sys.modules, "dask_jobqueue", types.SimpleNamespace(SLURMCluster=_FakeSLURMCluster))
    monkeypatch.setattr("dask.distributed.Client", lambda cluster: types.SimpleNamespace(cluster=cluster))
    fixed = slurm_client(jobs=16, cores=1, job_cpu=2, queue="gpu").cluster  # without minimum_jobs, as before: 16 jobs, asked for once
    assert fixed.calls == [("scale", {"jobs": 16})]
    assert fixed.kwargs == {"cores": 1, "processes": 1, "memory": "16GB", "walltime": "04:00:00", "job_cpu": 2, "queue": "gpu"}
    # scripts/slurm_single_node.sh: a scancelled job came back 16 s later with adapt, never with scale.
    kept = slurm_client(jobs=2, minimum_jobs=2, cores=1, log_directory="/tmp/logs").cluster
    assert kept.calls == [("adapt", {"minimum_jobs": 2, "maximum_jobs": 2})] and kept.kwargs["log_directory"] == "/tmp/logs"
