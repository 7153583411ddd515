"""Offline LiRA: the memorization estimate's models as references, and the attack where the answer is known."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from unlearnlib.evaluation import lira
from unlearnlib.kinds import offline_lira
from unlearnlib.data import make_synthetic
from unlearnlib.kinds.registry import kind_of
from unlearnlib.evaluation.memorization import memorization_scores
from unlearnlib.kinds.originals import StudyData, model_factory
from unlearnlib.profiles import Profile
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec
from unlearnlib.results.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig, evaluate

# As tests/test_ulira.py: noisy images, so a model is confident on what it trained on only.
PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=20, batch_size=32, flips=False), seeds=(0,))


@pytest.fixture(scope="module")
def data():
    ds = make_synthetic(n_samples=100, num_classes=2, image_size=16, noise=200.0, images_per_group=1, seed=0)
    return StudyData(ds, Tensors.from_arrays(ds.images, ds.labels))


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _references(n_models: int = 4) -> offline_lira.ReferenceSet:
    return offline_lira.ReferenceSet(OriginalSpec.from_profile(PROFILE, "synthetic", 0), n_models)


def test_offline_scores_find_a_memorized_set_and_not_an_unseen_one():
    rng = np.random.default_rng(0)
    n_train, n_test, n_models = 400, 300, 16
    membership = np.zeros((n_models, n_train), dtype=bool)
    membership[::2, : n_train // 2], membership[1::2, n_train // 2:] = True, True
    base_train, base_test = rng.normal(0, 2, n_train), rng.normal(0, 2, n_test)
    refs = {"train": base_train + 3 * membership + rng.normal(0, 1, membership.shape), "membership": membership,
            "test": base_test + rng.normal(0, 1, (n_models, n_test))}
    forget = np.arange(0, n_train, 2)
    test_phi = base_test + rng.normal(0, 1, n_test)
    memorized = offline_lira.offline_scores(refs, forget, base_train[forget] + 3 + rng.normal(0, 1, len(forget)), test_phi)
    unseen = offline_lira.offline_scores(refs, forget, base_train[forget] + rng.normal(0, 1, len(forget)), test_phi)
    assert lira.auc(*memorized) > 0.95
    assert lira.auc(*unseen) == pytest.approx(0.5, abs=0.07)


def test_references_are_the_memorization_estimates_models(data, tmp_path, one_thread):
    refs = _references(2)
    train = data.tensors.subset(data.split("train"))
    estimate = memorization_scores(train, make_model=model_factory(refs.original, data.dataset), recipe=refs.original.recipe,
                                   n_models=2, seed=0)
    for k in range(2):
        model, _ = offline_lira.reference_model(offline_lira.ReferenceModel(refs, k), data=data, store=ModelStore(tmp_path))
        result = evaluate(model, train)
        assert np.allclose(result.probs[np.arange(len(train)), result.labels], estimate.true_prob[k], atol=1e-6)
    scores = offline_lira.reference_scores(refs, data=data, store=ModelStore(tmp_path))
    assert scores["train"].shape == (2, len(train)) and scores["test"].shape == (2, len(data.split("test")))
    assert (scores["membership"] == estimate.membership).all()


def test_the_original_is_flagged_far_above_chance_and_the_retrain_is_at_chance(data, tmp_path, one_thread):
    refs = _references(4)  # 2 out per training image: the pooled sd (a row says it rests on min_out)
    models, results = ModelStore(tmp_path / "models"), ResultStore(tmp_path / "ledger")
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny originals miss the study's memorization target
        for method in ("original", "retrain"):
            experiment = ExperimentSpec.build(OriginalSpec.from_profile(PROFILE, "synthetic", 0), "random", method, fraction=0.25)
            rows[method] = offline_lira.run_offline_lira(offline_lira.OfflineLiraSpec(refs, experiment), data=data, models=models,
                                                         results=results)
    original, retrain = rows["original"], rows["retrain"]
    assert original["status"] == "ok" and original["min_out"] == 2 and original["n_test"] == len(data.split("test"))
    assert original["auc"] > 0.75 and original["auc"] > retrain["auc"] + 0.2
    assert abs(retrain["auc"] - 0.5) < 0.2
    assert len(list((tmp_path / "models" / "lira_scores").glob("offline-*.npz"))) == 1  # scored once, read by both rows


def test_keys_costs_and_the_seed_rule():
    from unlearnlib.kinds.cost import Cost
    from unlearnlib.profiles import get_profile

    with pytest.raises(ValueError, match="seed 0"):
        offline_lira.ReferenceSet(OriginalSpec.from_profile(PROFILE, "synthetic", 1))
    prof = get_profile("cpu")
    refs = offline_lira.reference_set(prof, "ham10000")
    assert refs.n_models == 16 and refs.key() == offline_lira.reference_set(prof, "ham10000").key()
    specs = [offline_lira.OfflineLiraSpec(refs, ExperimentSpec.build(OriginalSpec.from_profile(prof, "ham10000", s), "random", m, fraction=0.1))
             for m in ("finetune", "retrain") for s in prof.seeds]
    keys = [kind_of(s).key(s) for s in specs]
    assert len(set(keys)) == len(keys) and kind_of(specs[0]).name == "offline_lira"
    assert kind_of(specs[0]).key(dataclasses.replace(specs[0], fixed_variance=True)) not in keys
    cost, charged = Cost(prof), set()
    units = [cost.of(spec, charged) for spec in specs]
    assert units[0] == pytest.approx(16 * cost.training("ham10000", 7009 // 2) + cost.method("finetune", "ham10000"))
    assert units[1] == pytest.approx(cost.method("finetune", "ham10000")) and units[5] == 0.0  # the retrain row trained its model
