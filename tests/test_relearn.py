"""The retain-only relearning attack: what it sees, what it changes, what it recovers, its ledger rows."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import unlearnlib.kinds.relearn as relearn_module
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec
from unlearnlib.results.ledger import MissingResultError
from unlearnlib.provenance import config_key, key_of, plain
from unlearnlib.profiles import Profile
from unlearnlib.kinds.relearn import (RelearnBudget, RelearnSpec, forget_in_attack, relearn, relearn_subset, relearning_attack,
                                relearning_rows, run_relearning)
from unlearnlib.report.relearn_verdict import SURVIVAL_MARGIN, relearning_table, relearning_verdict
from unlearnlib.results.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig, fit

PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))
ORIGINAL = OriginalSpec.from_profile(PROFILE, "synthetic", 0)
SMALL = RelearnBudget(subset_fraction=0.5, epochs=2, batch_size=32)


def _mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))


def _blobs():
    """Two Gaussian blobs (class 0 left, class 1 right) and 8 forget points: a tight
    cluster at the edge of blob 0, labelled 1 (mislabelled), which only a model trained
    on them predicts as 1."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal([-2, 0], 0.7, (300, 2)), rng.normal([2, 0], 0.7, (300, 2)), rng.normal([-2, 1.8], 0.05, (8, 2))])
    y = np.concatenate([np.zeros(300), np.ones(300), np.ones(8)]).astype(np.int64)
    tensors = Tensors(torch.tensor(x, dtype=torch.float32), torch.tensor(y))
    return tensors, np.arange(600), np.arange(600, 608)


def _state(model: nn.Module) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_subset_is_a_fixed_random_part_of_retain_and_never_a_forget_index():
    retain, forget = np.arange(0, 200, 2), np.arange(1, 200, 2)
    subset = relearn_subset(retain, 30, seed=3)
    assert len(subset) == 30 and len(np.unique(subset)) == 30
    assert set(subset) <= set(retain) and not set(subset) & set(forget)
    assert np.array_equal(subset, relearn_subset(retain, 30, seed=3))
    assert not np.array_equal(subset, relearn_subset(retain, 30, seed=4))
    with pytest.raises(ValueError, match="subset size must lie in \\[1, 100\\].*got 101"):
        relearn_subset(retain, 101, seed=0)


def test_the_attack_trains_on_retain_images_only(monkeypatch):
    tensors, retain, forget = _blobs()
    seen = []
    real = relearn_module.relearn
    monkeypatch.setattr(relearn_module, "relearn", lambda model, data, budget, seed: seen.append(data) or real(model, data, budget, seed))
    outcome = relearning_attack(_mlp(0), tensors, retain=retain, forget=forget, budget=SMALL, seed=0)
    (trained,) = seen
    assert len(trained) == SMALL.subset_size(len(retain)) == len(outcome.subset)
    # No row the attack trained on equals a forget image (the forget cluster is distinct from every retain point).
    forget_x = tensors.x[forget]
    assert not (trained.x[:, None, :] == forget_x[None, :, :]).all(-1).any()
    assert not set(outcome.subset) & set(forget)
    with pytest.raises(ValueError, match="retain set holds 1 forget indices"):
        relearning_attack(_mlp(0), tensors, retain=np.append(retain, forget[0]), forget=forget, budget=SMALL, seed=0)


def test_with_k_forget_the_attack_trains_on_k_forget_images_plus_the_retain_subset_and_measures_the_rest(monkeypatch):
    tensors, retain, forget = _blobs()
    seen_data = []
    real = relearn_module.relearn
    monkeypatch.setattr(relearn_module, "relearn", lambda model, data, budget, seed: seen_data.append(data) or real(model, data, budget, seed))
    model = _mlp(0)
    outcome = relearning_attack(model, tensors, retain=retain, forget=forget, budget=SMALL, seed=0, k_forget=3)
    (trained,) = seen_data
    subset = relearn_subset(retain, SMALL.subset_size(len(retain)), seed=0)
    assert np.array_equal(outcome.subset, subset)  # the same retain subset as without forget images
    assert len(trained) == len(subset) + 3
    # Exactly the 3 drawn forget images are in the attack set, each once.
    is_forget = (trained.x[:, None, :] == tensors.x[forget][None, :, :]).all(-1)
    assert is_forget.sum() == 3 and set(forget[is_forget.any(0).numpy()]) == set(outcome.seen)
    assert len(outcome.seen) == 3 and set(outcome.seen) <= set(forget)
    assert sorted([*outcome.seen, *outcome.unseen]) == sorted(forget) and not set(outcome.seen) & set(outcome.unseen)
    # Forget accuracy is measured on the 5 unseen forget images only.
    from unlearnlib.training import evaluate

    assert outcome.forget_acc == evaluate(outcome.model, tensors.subset(outcome.unseen)).accuracy
    assert outcome.steps == SMALL.steps(len(subset) + 3)


def test_k_forget_draws_nested_forget_images_with_the_seed_and_is_validated():
    forget = np.arange(100, 160)
    few, more = forget_in_attack(forget, 5, seed=2), forget_in_attack(forget, 25, seed=2)
    assert len(few) == 5 and len(more) == 25 and set(few) <= set(more) <= set(forget)
    assert np.array_equal(few, forget_in_attack(forget, 5, seed=2)) and not np.array_equal(few, forget_in_attack(forget, 5, seed=3))
    assert len(forget_in_attack(forget, 0, seed=2)) == 0
    with pytest.raises(ValueError, match=r"k_forget must be an integer in \[0, 60\).*got 60"):
        forget_in_attack(forget, 60, seed=0)
    with pytest.raises(ValueError, match="k_forget must be a non-negative integer.*got -1"):
        _spec("finetune", k_forget=-1)
    tensors, retain, forget8 = _blobs()
    with pytest.raises(ValueError, match=r"\[0, 8\).*got 8"):
        relearning_attack(_mlp(0), tensors, retain=retain, forget=forget8, budget=SMALL, seed=0, k_forget=8)


def test_the_input_model_is_unchanged_and_a_seed_fixes_the_result():
    tensors, retain, forget = _blobs()
    model = _mlp(0)
    before = _state(model)
    first = relearn(model, tensors.subset(retain[:100]), SMALL, seed=1)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"relearn changed the input model's {name}"
    again = relearn(model, tensors.subset(retain[:100]), SMALL, seed=1)
    other = relearn(model, tensors.subset(retain[:100]), SMALL, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), other.state_dict().values()))
    assert any(not torch.equal(a, before[k]) for k, a in first.state_dict().items()), "relearning changed nothing"


def test_the_original_recovers_at_least_as_much_forget_accuracy_as_a_retrained_model():
    tensors, retain, forget = _blobs()
    recipe = TrainConfig(epochs=150, batch_size=32, lr=0.05, weight_decay=0.0, flips=False)
    original, retrained = _mlp(0), _mlp(1)
    fit(original, tensors.subset(np.concatenate([retain, forget])), recipe, seed=0, progress=False)
    fit(retrained, tensors.subset(retain), recipe, seed=1, progress=False)
    budget = RelearnBudget(subset_fraction=0.5, epochs=5, lr=0.005, batch_size=32)
    kept = relearning_attack(original, tensors, retain=retain, forget=forget, budget=budget, seed=0)
    baseline = relearning_attack(retrained, tensors, retain=retain, forget=forget, budget=budget, seed=0)
    # The setting works as intended: the original memorized the mislabelled points, the retrain did not.
    assert kept.forget_acc >= 0.75 and baseline.forget_acc <= 0.25
    assert kept.forget_acc >= baseline.forget_acc
    assert kept.forget_loss < baseline.forget_loss


def test_budget_validates_and_counts_steps():
    assert RelearnBudget().steps(3154) == 250  # HAM10000's subset at 10 % (module docstring)
    assert RelearnBudget().steps(246) == 20  # BreastMNIST's
    assert RelearnBudget().subset_size(6309) == 3154 and RelearnBudget().subset_size(491) == 246
    with pytest.raises(ValueError, match="subset_fraction must lie in \\(0, 1\\]; got 1.5"):
        RelearnBudget(subset_fraction=1.5)


def test_verdicts_follow_the_interval_and_the_margin():
    assert relearning_verdict(-0.02, 0.03) == "survives relearning"
    assert relearning_verdict(0.1, 0.3) == "recovers under relearning"
    assert relearning_verdict(-0.3, -0.1) == "below retrain after relearning"
    assert relearning_verdict(0.0, 0.2) == "inconclusive"
    assert relearning_verdict(float("nan"), float("nan")) == "too few seeds"
    rows = pd.DataFrame({"dataset": "d", "method": ["m"] * 3 + ["r"] * 3, "seed": [0, 1, 2] * 2,
                         "relearn_gap": [0.30, 0.32, 0.34, 0.0, 0.0, 0.0], "forget_acc_before": 0.5, "relearn_forget_acc": 0.9,
                         "retrain_relearn_forget_acc": 0.6, "original_relearn_forget_acc": 1.0, "relearn_test_acc": 0.7})
    table = relearning_table(rows).set_index("method")
    assert table.loc["m", "difference"] == pytest.approx(0.32) and table.loc["m", "ci_low"] < 0.32 < table.loc["m", "ci_high"]
    assert table.loc["m", "verdict"] == "recovers under relearning" and table.loc["r", "verdict"] == "survives relearning"
    assert table.loc["m", "n_seeds"] == 3 and table.loc["m", "margin"] == SURVIVAL_MARGIN


def _spec(method, k_forget=0, **hp):
    return RelearnSpec(ExperimentSpec.build(ORIGINAL, "random", method, hyperparameters=hp, fraction=0.1), SMALL, k_forget)


def test_the_ledger_row_is_written_once_and_reused(tmp_path, monkeypatch):
    stores = {"models": ModelStore(tmp_path / "models"), "results": ResultStore(tmp_path / "ledger")}
    calls = []
    real = relearn_module.relearn
    monkeypatch.setattr(relearn_module, "relearn", lambda *a, **k: calls.append(1) or real(*a, **k))
    row = run_relearning(_spec("gradient_ascent"), **stores)
    assert len(calls) == 3  # the retrain, the original and the method
    for key in ("forget_acc_before", "relearn_forget_acc", "relearn_forget_loss", "retrain_relearn_forget_acc",
                "original_relearn_forget_acc", "relearn_gap", "method", "seed", "forget_size", "spec", "key", "code_version"):
        assert key in row, key
    assert row["relearn_gap"] == pytest.approx(row["relearn_forget_acc"] - row["retrain_relearn_forget_acc"])
    assert row["code_version"] == _spec("gradient_ascent").code_version()
    # Read back, not recomputed; another method reuses the cached relearned retrain and original.
    assert run_relearning(_spec("gradient_ascent"), **stores) == row and len(calls) == 3
    finetune = run_relearning(_spec("finetune", epochs=1), **stores)
    assert len(calls) == 4 and finetune["retrain_relearn_forget_acc"] == row["retrain_relearn_forget_acc"]
    retrain = run_relearning(_spec("retrain"), **stores)
    assert len(calls) == 4 and retrain["relearn_gap"] == 0
    table = pd.read_csv(tmp_path / "ledger" / "relearning.csv")
    assert len(table) == 3 and table["key"].is_unique


def test_the_attacks_on_one_run_share_its_method_model_and_write_the_rows_a_fresh_run_writes(tmp_path, monkeypatch):
    import unlearnlib.kinds.runner as runner_module

    runs = []
    real = runner_module.unlearn
    monkeypatch.setattr(runner_module, "unlearn", lambda method, *a, **k: runs.append(method) or real(method, *a, **k))
    shared = {"models": ModelStore(tmp_path / "shared"), "results": ResultStore(tmp_path / "shared-ledger")}
    rows = [run_relearning(_spec("gradient_ascent", k_forget=k), **shared) for k in (0, 2, 4)]
    assert runs.count("gradient_ascent") == 1  # the k = 2 and 4 attacks read the cached model
    for k, row in zip((0, 2, 4), rows):  # each equals the row of a run that computed the method itself
        alone = {"models": ModelStore(tmp_path / f"alone-{k}"), "results": ResultStore(tmp_path / f"alone-ledger-{k}")}
        fresh = run_relearning(_spec("gradient_ascent", k_forget=k), **alone)
        assert {c: v for c, v in fresh.items() if c not in ("finished_utc", "load_average") and "seconds" not in c} == \
               {c: v for c, v in row.items() if c not in ("finished_utc", "load_average") and "seconds" not in c}, k
    assert runs.count("gradient_ascent") == 4


def test_a_missing_row_fails_before_any_data_is_loaded_when_computing_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")
    monkeypatch.setattr(relearn_module, "load_study_data", lambda *a, **k: pytest.fail("data loaded although computing is off"))
    with pytest.raises(MissingResultError, match="lacks 1 of 1 relearning rows"):
        relearning_rows([_spec("finetune")], results=ResultStore(tmp_path / "ledger"), progress=False)


def test_a_row_with_forget_images_in_the_attack_is_keyed_apart_and_measured_on_the_unseen_ones(tmp_path, monkeypatch):
    stores = {"models": ModelStore(tmp_path / "models"), "results": ResultStore(tmp_path / "ledger")}
    calls = []
    real = relearn_module.relearn
    monkeypatch.setattr(relearn_module, "relearn", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    plain_row = run_relearning(_spec("gradient_ascent"), **stores)
    with_forget = run_relearning(_spec("gradient_ascent", k_forget=4), **stores)
    assert len(calls) == 6  # retrain, original and method per k: the references are cached per k
    assert calls[3:] == [n + 4 for n in calls[:3]]
    assert with_forget["key"] != plain_row["key"] and with_forget["k_forget"] == 4
    assert with_forget["forget_unseen"] == with_forget["forget_size"] - 4 and "k_forget" not in plain_row
    assert '"k_forget": 4' in with_forget["spec"] and "k_forget" not in plain_row["spec"]
    # relearning_rows carries k for every row, 0 for the retain-only ones.
    rows = relearning_rows([_spec("gradient_ascent"), _spec("gradient_ascent", k_forget=4)], results=stores["results"], progress=False)
    assert list(rows["k_forget"]) == [0, 4] and len(calls) == 6
    with pytest.raises(ValueError, match=r"k_forget must be an integer in \[0, \d+\).*got 999"):
        run_relearning(_spec("finetune", k_forget=999), **stores)


def test_k_forget_at_0_keeps_the_key_a_spec_had_before_the_field(monkeypatch):
    spec = _spec("finetune")
    assert spec == RelearnSpec(spec.experiment, SMALL) and "k_forget" not in json.dumps(plain(spec))
    before = {"__type__": "RelearnSpec", "budget": plain(SMALL), "experiment": plain(spec.experiment)}  # the spec's plain() until issue 33
    assert config_key(spec) == key_of(json.dumps(before, sort_keys=True))
    assert config_key(_spec("finetune", k_forget=5)) != config_key(spec)


def _committed_relearning_rows() -> pd.DataFrame:
    from unlearnlib.paths import project_root

    path = project_root() / "data" / "ledger" / "relearning.csv"
    if not path.exists():
        pytest.skip(f"no committed relearning rows at {path}")
    return pd.read_csv(path)


def _from_plain(value):
    """The committed ``spec`` column back to specs (verify.from_plain's, with the relearning types)."""
    types = {c.__name__: c for c in (RelearnSpec, RelearnBudget, ExperimentSpec, OriginalSpec, TrainConfig)}
    if isinstance(value, dict) and "__type__" in value:
        cls = types[value["__type__"]]
        return cls(**{f.name: _from_plain(value[f.name]) for f in dataclasses.fields(cls) if f.name in value})
    return tuple(_from_plain(v) for v in value) if isinstance(value, list) else value


def test_every_committed_relearning_row_keeps_its_key_and_code_version(monkeypatch):
    """Retain-only rows (k = 0, made before k existed) and the rows with forget images in the attack set alike."""
    rows = _committed_relearning_rows()
    assert len(rows)
    for path in {v.rpartition("~")[2] for v in rows["code_version"] if "~" in v}:
        monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", path)  # the path the rows were made on (part of their version)
        part = rows[rows["code_version"].str.endswith("~" + path)]
        for row in part.itertuples():
            spec = _from_plain(json.loads(row.spec))
            assert isinstance(spec, RelearnSpec) and spec.k_forget == (0 if pd.isna(row.k_forget) else int(row.k_forget))
            assert json.dumps(plain(spec), sort_keys=True) == row.spec
            assert config_key(spec) == row.key, f"{spec.label()}: re-keyed"
            assert spec.code_version() == row.code_version, f"{spec.label()}: new code version"
