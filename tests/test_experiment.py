"""Experiment rows in the results ledger, caching, resuming, seeds, and the grid on Dask."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import unlearnlib.experiment as experiment
from unlearnlib.experiment import ExperimentSpec, OriginalSpec, ResultStore, run_experiment
from unlearnlib.grid import expand_grid, run_grid
from unlearnlib.profiles import Profile
from unlearnlib.store import ModelStore
from unlearnlib.training import TrainConfig

PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))
ORIGINAL = OriginalSpec.from_profile(PROFILE, "synthetic", 0)
RUN_TIME_COLUMNS = ["seconds", "retrain_seconds", "rte", "eval_seconds", "finished_utc"]


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

    monkeypatch.setattr(experiment, "unlearn", no_training)
    monkeypatch.setattr(experiment, "fit", no_training)
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
    real = experiment.unlearn
    monkeypatch.setattr(experiment, "unlearn", lambda name, *a, **k: ran.append(name) or real(name, *a, **k))
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


def test_retrained_models_never_share_the_originals_initialisation(tmp_path):
    record = run_experiment(_spec("finetune", epochs=1), **_stores(tmp_path))
    retrain = run_experiment(_spec("retrain"), **_stores(tmp_path))
    assert record["init_seed"] == ORIGINAL.seed
    assert retrain["init_seed"] == record["retrain_init_seed"] == experiment.retrain_seed(ORIGINAL.seed) != ORIGINAL.seed
    assert len({experiment.retrain_seed(s, r) for s in range(5) for r in range(64)} | set(range(5))) == 5 * 64 + 5
    with pytest.raises(ValueError, match="replica"):
        experiment.retrain_seed(0, 1000)


def test_ledger_only_mode_names_what_is_missing_and_trains_nothing(tmp_path, monkeypatch):
    from unlearnlib.ledger import MissingResultError

    def no_training(*args, **kwargs):
        raise AssertionError("computed in ledger-only mode")

    monkeypatch.setattr(experiment, "fit", no_training)
    monkeypatch.setattr(experiment, "unlearn", no_training)
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")
    with pytest.raises(MissingResultError, match="(?s)finetune.*make reproduce"):
        run_grid([_spec("finetune")], cache_root=tmp_path, progress=False)
    with pytest.raises(MissingResultError, match="original synthetic seed 0"):
        experiment.original_summary(ORIGINAL, ledger=ResultStore(tmp_path / "ledger").ledger)


@pytest.mark.slow
def test_dask_grid_gives_the_same_records_as_the_local_run(tmp_path):
    from dask.distributed import Client, LocalCluster

    specs = expand_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1}), ("patient", {"fraction": 0.1})],
                        methods=["finetune", "ssd"], hyperparameters={"finetune": {"epochs": 1}})
    local = run_grid(specs, cache_root=tmp_path / "local", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        distributed = run_grid(specs, client=client, cache_root=tmp_path / "dask", progress=False)
    pd.testing.assert_frame_equal(local.drop(columns=RUN_TIME_COLUMNS), distributed.drop(columns=RUN_TIME_COLUMNS))
    assert np.isfinite(distributed["forget_acc"]).all()


@pytest.mark.slow
def test_tuning_records_every_trial_and_its_cost(tmp_path):
    from unlearnlib.experiment import TuningSpec, run_tuning

    for objective in ("retrain", "retrain_free"):
        spec = TuningSpec(_spec("gradient_ascent"), objective, n_trials=3)
        record = run_tuning(spec, **_stores(tmp_path))
        trials = json.loads(record["trials"])
        assert len(trials) == 3 and all(t["seconds"] > 0 for t in trials)
        assert record["best_value"] == min(t["value"] for t in trials)
        assert record["cost_in_retrains"] == pytest.approx(sum(t["seconds"] for t in trials) / record["retrain_seconds"])
        assert set(json.loads(record["best_params"])) == {"lr", "epochs"}
        assert run_tuning(spec, **_stores(tmp_path)) == record  # cached
    # Same seed, same search: Optuna's sampler is seeded.
    again = run_tuning(TuningSpec(_spec("gradient_ascent"), "retrain", n_trials=3), models=ModelStore(tmp_path / "models"),
                       results=ResultStore(tmp_path / "other"))
    assert [t["params"] for t in json.loads(again["trials"])] == [t["params"] for t in json.loads(
        run_tuning(TuningSpec(_spec("gradient_ascent"), "retrain", n_trials=3), **_stores(tmp_path))["trials"])]


def test_tuning_rejects_methods_without_a_search_space_and_unknown_objectives(tmp_path):
    from unlearnlib.experiment import TuningSpec, run_tuning

    with pytest.raises(ValueError, match="retrain declares no search space"):
        run_tuning(TuningSpec(_spec("retrain"), "retrain", n_trials=2), **_stores(tmp_path))
    with pytest.raises(ValueError, match="unknown objective 'fast'"):
        run_tuning(TuningSpec(_spec("finetune"), "fast", n_trials=2), **_stores(tmp_path))


@pytest.mark.slow
def test_forgetting_quality_scores_independent_retrains_above_a_noisy_method(tmp_path):
    from unlearnlib.experiment import ForgettingQualitySpec, run_forgetting_quality

    stores = _stores(tmp_path)
    noisy = run_forgetting_quality(ForgettingQualitySpec(_spec("fisher", alpha=1e-2), n_models=4), **stores)
    floor = run_forgetting_quality(ForgettingQualitySpec(_spec("retrain"), n_models=4), **stores)
    for record in (noisy, floor):
        assert 0 <= record["forget_score"] <= 1
        assert record["forgetting_quality"] == pytest.approx(record["forget_score"] * record["retain_acc_ratio"] * record["test_acc_ratio"])
        assert record["ci_low"] <= record["relative_to_retrain"] <= record["ci_high"] and record["n_models"] == 4
    # Independent retrains are the best any method can do: heavy noise scores no better.
    assert floor["forget_score"] >= noisy["forget_score"]
    # Retrain's own row compares the independent set with the reference: exactly the ceiling.
    assert floor["relative_to_retrain"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 4 models"):
        run_forgetting_quality(ForgettingQualitySpec(_spec("ssd"), n_models=2), **stores)


def test_changing_a_methods_code_recomputes_only_that_methods_rows(tmp_path, monkeypatch):
    import unlearnlib.provenance as provenance

    first = {m: run_experiment(_spec(m), **_stores(tmp_path)) for m in ("gradient_ascent", "ssd")}
    real = provenance.method_code_version
    monkeypatch.setattr(experiment, "method_code_version", lambda m: real(m) + ("-fixed" if m == "ssd" else ""))
    ran = []
    real_unlearn = experiment.unlearn
    monkeypatch.setattr(experiment, "unlearn", lambda name, *a, **k: ran.append(name) or real_unlearn(name, *a, **k))
    again = {m: run_experiment(_spec(m), **_stores(tmp_path)) for m in ("gradient_ascent", "ssd")}
    assert ran == ["ssd"]
    changed = {k for k in first["gradient_ascent"] if first["gradient_ascent"][k] != again["gradient_ascent"].get(k)}
    assert not changed, {k: (first["gradient_ascent"][k], again["gradient_ascent"].get(k)) for k in changed}
    assert "-fixed" in again["ssd"]["code_version"]


def test_tuning_runs_on_a_seed_and_forget_set_no_evaluation_uses():
    from unlearnlib.profiles import PROFILES

    for profile in PROFILES.values():
        spec = experiment.tuning_spec(profile, "ham10000", "salun")
        assert spec.experiment.seed == experiment.TUNING_SEED
        assert experiment.TUNING_SEED not in (*profile.seeds, *profile.curve_seeds)
        assert spec.n_trials == profile.tuning_trials and spec.objective == "retrain"
    # The tuning sees only what an unlearning task carries: retain, forget and validation data.
    carried = {f.name for f in dataclasses.fields(experiment.UnlearningTask)}
    assert {"retain", "forget", "val"} <= carried and "test" not in carried


def test_a_row_is_stamped_when_it_is_finished_not_when_it_starts(tmp_path, monkeypatch):
    events = []
    real_stamp = experiment.stamp

    def recording_stamp(*args):
        events.append("stamp")
        return real_stamp(*args)

    def compute():
        events.append("compute")
        return {"seconds": 1.0}

    monkeypatch.setattr(experiment, "stamp", recording_stamp)
    ResultStore(tmp_path / "ledger").fetch(_spec("finetune"), compute)
    assert events == ["compute", "stamp"]


def test_size_curves_run_each_size_at_the_settings_tuned_at_that_size(monkeypatch):
    """Notebook 03 tunes at every forget size: run_study_grid(tuning_fraction=f) must tune on
    a forget set of f (on the tuning seed) and hand those settings, not the 10 % ones, to the grid."""
    import unlearnlib.study as study

    tuned_at: list[float] = []

    def fake_tuning(spec):
        fraction = dict(spec.experiment.scenario_params)["fraction"]
        assert spec.experiment.seed == experiment.TUNING_SEED  # never an evaluation seed
        tuned_at.append(fraction)
        return {"method": spec.experiment.method, "best_params": json.dumps({"lr": fraction})}

    ran: list = []
    monkeypatch.setattr(study, "run_tuning", fake_tuning)
    monkeypatch.setattr(study, "run_grid", lambda specs, progress: ran.extend(specs) or pd.DataFrame({"n": [len(specs)]}))
    study.run_study_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.3})], methods=["retrain", "finetune"],
                         seeds=[0], tuning_fraction=0.3, progress=False)
    assert tuned_at == [0.3]
    assert {s.method: dict(s.hyperparameters) for s in ran} == {"retrain": {}, "finetune": {"lr": 0.3}}
    ran.clear()
    study.run_study_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.3})], methods=["finetune"],
                         seeds=[0], progress=False)
    assert tuned_at[-1] == study.TUNING_FRACTION and dict(ran[-1].hyperparameters) == {"lr": study.TUNING_FRACTION}
