"""The runner: experiment rows in the results ledger, caching, resuming, seeds, and the grid on Dask."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import unlearnlib.kinds.originals as originals
import unlearnlib.provenance as provenance
import unlearnlib.kinds.runner as runner
import unlearnlib.kinds.specs as specs
from unlearnlib.execution.grid import expand_grid, run_grid
from unlearnlib.results.ledger import MissingResultError
from unlearnlib.profiles import Profile
from unlearnlib.kinds.runner import ResultStore, run_experiment
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec
from unlearnlib.results.store import ModelStore
from unlearnlib.training import TrainConfig

PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))
ORIGINAL = OriginalSpec.from_profile(PROFILE, "synthetic", 0)
RUN_TIME_COLUMNS = ["seconds", "retrain_seconds", "rte", "eval_seconds", "finished_utc", "load_average"]


def _spec(method, **hp):
    return ExperimentSpec.build(ORIGINAL, "random", method, hyperparameters=hp, fraction=0.1)


def _stores(tmp_path):
    return {"models": ModelStore(tmp_path / "models"), "results": ResultStore(tmp_path / "ledger")}


def test_record_has_metrics_retrain_reference_gaps_and_provenance(tmp_path):
    record = run_experiment(_spec("finetune", epochs=1), **_stores(tmp_path))
    for key in ("retain_acc", "forget_acc", "val_acc", "test_acc", "test_auc", "forget_male_acc", "test_female_acc",
                "mia_efficacy", "loss_attack", "retrain_forget_acc", "gap_test_acc", "avg_gap", "rte", "spec", "unlearnlib_version",
                "key", "profile", "code_version", "commit", "machine", "fingerprint", "finished_utc", "init_seed", "status"):
        assert key in record, key
    assert record["gap_forget_acc"] == pytest.approx(abs(record["forget_acc"] - record["retrain_forget_acc"]))
    assert record["rte"] == pytest.approx(record["retrain_seconds"] / record["seconds"])
    assert json.loads(record["hyperparameters"])["epochs"] == 1
    retrain = run_experiment(_spec("retrain"), **_stores(tmp_path))
    assert retrain["forget_acc"] == record["retrain_forget_acc"] and retrain["avg_gap"] == 0


def test_cached_records_and_models_are_reused(tmp_path, monkeypatch):
    first = run_experiment(_spec("gradient_ascent"), **_stores(tmp_path))

    def no_training(*args, **kwargs):
        raise AssertionError("a cached result was computed again")

    monkeypatch.setattr(runner, "unlearn", no_training)
    monkeypatch.setattr(originals, "fit", no_training)
    assert run_experiment(_spec("gradient_ascent"), **_stores(tmp_path)) == first


def test_unknown_method_fails_before_any_training(tmp_path):
    with pytest.raises(KeyError, match="unknown unlearning method 'forgetall'"):
        run_experiment(_spec("forgetall"), **_stores(tmp_path))


@pytest.mark.slow
def test_interrupted_grid_resumes_without_redoing_or_duplicating(tmp_path, monkeypatch):
    specs = expand_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1})],
                        methods=["original", "finetune", "gradient_ascent"], hyperparameters={"finetune": {"epochs": 1}})
    assert [s.method for s in specs] == ["retrain", "original", "finetune", "gradient_ascent"]
    full = run_grid(specs, cache_root=tmp_path, progress=False)
    ledger = tmp_path / "ledger" / "experiments.csv"
    # An interruption: two rows never written, and a temporary file left behind by a killed write.
    rows = pd.read_csv(ledger)
    rows[~rows.method.isin(["finetune", "gradient_ascent"])].to_csv(ledger, index=False)
    (tmp_path / "ledger" / ".experiments.csv.x.tmp").write_text("key,\n")
    ran = []
    real = runner.unlearn
    monkeypatch.setattr(runner, "unlearn", lambda name, *a, **k: ran.append(name) or real(name, *a, **k))
    again = run_grid(specs, cache_root=tmp_path, progress=False)
    assert sorted(ran) == ["finetune", "gradient_ascent"]
    assert len(again) == len(specs) and again["key"].is_unique and len(pd.read_csv(ledger)) == len(specs)
    pd.testing.assert_frame_equal(again.drop(columns=RUN_TIME_COLUMNS), full.drop(columns=RUN_TIME_COLUMNS))


def test_the_ledger_is_sorted_tidy_data_with_provenance(tmp_path):
    specs = expand_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1})], methods=["original", "ssd"])
    run_grid(specs, cache_root=tmp_path, progress=False)
    table = pd.read_csv(tmp_path / "ledger" / "experiments.csv")
    assert list(table.columns[:8]) == ["key", "profile", "code_version", "unlearnlib_version", "commit", "machine", "fingerprint", "finished_utc"]
    assert table["key"].is_monotonic_increasing and table["key"].is_unique and (table["profile"] == "unit").all()
    assert table.loc[table.method == "ssd", "code_version"].iloc[0] != table.loc[table.method == "original", "code_version"].iloc[0]


def test_ledger_only_mode_names_what_is_missing_and_trains_nothing(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("computed in ledger-only mode")

    monkeypatch.setattr(originals, "fit", no_training)
    monkeypatch.setattr(runner, "unlearn", no_training)
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")
    with pytest.raises(MissingResultError, match="(?s)finetune.*make reproduce"):
        run_grid([_spec("finetune")], cache_root=tmp_path, progress=False)
    with pytest.raises(MissingResultError, match="original synthetic seed 0"):
        originals.original_summary(ORIGINAL, ledger=ResultStore(tmp_path / "ledger").ledger)


@pytest.mark.slow
def test_dask_grid_gives_the_same_records_as_the_local_run(tmp_path):
    from dask.distributed import Client, LocalCluster  # only this test needs Dask

    specs = expand_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1}), ("patient", {"fraction": 0.1})],
                        methods=["finetune", "ssd"], hyperparameters={"finetune": {"epochs": 1}})
    local = run_grid(specs, cache_root=tmp_path / "local", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        distributed = run_grid(specs, client=client, cache_root=tmp_path / "dask", progress=False)
    pd.testing.assert_frame_equal(local.drop(columns=RUN_TIME_COLUMNS), distributed.drop(columns=RUN_TIME_COLUMNS))
    assert np.isfinite(distributed["forget_acc"]).all()


def test_changing_a_methods_code_recomputes_only_that_methods_rows(tmp_path, monkeypatch):
    first = {m: run_experiment(_spec(m), **_stores(tmp_path)) for m in ("gradient_ascent", "ssd")}
    real = provenance.method_code_version
    monkeypatch.setattr(specs, "method_code_version", lambda m: real(m) + ("-fixed" if m == "ssd" else ""))
    ran = []
    real_unlearn = runner.unlearn
    monkeypatch.setattr(runner, "unlearn", lambda name, *a, **k: ran.append(name) or real_unlearn(name, *a, **k))
    again = {m: run_experiment(_spec(m), **_stores(tmp_path)) for m in ("gradient_ascent", "ssd")}
    assert ran == ["ssd"]
    changed = {k for k in first["gradient_ascent"] if first["gradient_ascent"][k] != again["gradient_ascent"].get(k)}
    assert not changed, {k: (first["gradient_ascent"][k], again["gradient_ascent"].get(k)) for k in changed}
    assert "-fixed" in again["ssd"]["code_version"]


def test_a_row_is_stamped_when_it_is_finished_not_when_it_starts(tmp_path, monkeypatch):
    events = []
    real_stamp = runner.stamp

    def recording_stamp(*args):
        events.append("stamp")
        return real_stamp(*args)

    def compute():
        events.append("compute")
        return {"seconds": 1.0}

    monkeypatch.setattr(runner, "stamp", recording_stamp)
    ResultStore(tmp_path / "ledger").fetch(_spec("finetune"), compute)
    assert events == ["compute", "stamp"]


def test_retrained_models_never_share_the_originals_initialisation(tmp_path):
    record = run_experiment(_spec("finetune", epochs=1), **_stores(tmp_path))
    retrain = run_experiment(_spec("retrain"), **_stores(tmp_path))
    assert record["init_seed"] == ORIGINAL.seed
    assert retrain["init_seed"] == record["retrain_init_seed"] == specs.retrain_seed(ORIGINAL.seed) != ORIGINAL.seed
    assert len({specs.retrain_seed(s, r) for s in range(5) for r in range(64)} | set(range(5))) == 5 * 64 + 5
    with pytest.raises(ValueError, match="replica"):
        specs.retrain_seed(0, 1000)
