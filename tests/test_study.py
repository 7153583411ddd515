"""The study's grids as the notebooks run them: which methods are tuned, at which settings, and the majority rate."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import unlearnlib.execution.study as study
from unlearnlib.algorithms import available, get_method
from unlearnlib.data import load_dataset, miniature
from unlearnlib.profiles import Profile
from unlearnlib.kinds.specs import TUNING_SEED
from unlearnlib.training import TrainConfig

PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))


def test_tunable_keeps_the_methods_with_a_search_space_in_their_order():
    every = study.tunable()
    assert every == [m for m in available() if m not in ("original", "retrain")]
    assert all(get_method(m).hyperparameters.search_space for m in every)
    assert study.tunable(["ssd", "retrain", "finetune", "original"]) == ["ssd", "finetune"]
    with pytest.raises(KeyError, match="unknown unlearning method 'forgetall'"):
        study.tunable(["forgetall"])


def test_majority_rate_is_the_largest_class_share_of_the_test_split(tmp_path, monkeypatch):
    root = miniature.make_chexpert(tmp_path / "data", n_patients=40, n_valid_patients=6, seed=0)
    monkeypatch.setenv("UNLEARNLIB_DATA_DIR", str(root))
    profile = Profile(name="unit", model="resnet_tiny", image_size=28, recipe=TrainConfig(epochs=1))
    dataset = load_dataset("chexpert", data_dir=root, image_size=28, split_seed=profile.split_seed)
    test_labels = dataset.labels[dataset.split_indices("test")]
    counts = np.bincount(test_labels)
    rate = study.majority_rate(profile, "chexpert")
    assert rate == pytest.approx(counts.max() / counts.sum())
    assert 1 / len(dataset.class_names) <= rate <= 1


def test_size_curves_run_each_size_at_the_settings_tuned_at_that_size(monkeypatch):
    """Notebook 03 tunes at every forget size: run_study_grid(tuning_fraction=f) must tune on
    a forget set of f (on the tuning seed) and hand those settings, not the 10 % ones, to the grid."""
    tuned_at: list[float] = []

    def fake_tuning(spec):
        fraction = dict(spec.experiment.scenario_params)["fraction"]
        assert spec.experiment.seed == TUNING_SEED  # never an evaluation seed
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


def test_untuned_grids_run_the_defaults_without_tuning(monkeypatch):
    monkeypatch.setattr(study, "run_tuning", lambda spec: pytest.fail("tuned although tuned=False"))
    ran: list = []
    monkeypatch.setattr(study, "run_grid", lambda specs, progress: ran.extend(specs) or pd.DataFrame({"n": [len(specs)]}))
    study.run_study_grid(PROFILE, datasets=["synthetic"], scenarios=[("random", {"fraction": 0.1})], methods=["ssd"], seeds=[0, 1],
                         tuned=False, progress=False)
    assert sorted((s.method, s.seed) for s in ran) == [("retrain", 0), ("retrain", 1), ("ssd", 0), ("ssd", 1)]
    assert all(s.hyperparameters == () for s in ran)
