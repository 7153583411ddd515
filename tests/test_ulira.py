"""U-LiRA: the shadow schedule, the keys, and the attack on a tiny dataset where the answer is known."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from unlearnlib.kinds import ulira
from unlearnlib.data import make_synthetic
from unlearnlib.kinds.registry import kind_of
from unlearnlib.kinds.originals import StudyData
from unlearnlib.profiles import Profile
from unlearnlib.provenance import config_key
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import RETRAIN_SEED_BASE, retrain_seed
from unlearnlib.results.store import ModelStore
from unlearnlib.training import Tensors, TrainConfig

# Pixel noise far above the class patterns' spread: the classes are barely learnable, so a model
# is confident on the images it trained on and not on others (memorization, the attack's signal).
PROFILE = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=20, batch_size=32, flips=False), seeds=(0, 1))


@pytest.fixture(scope="module")
def data():
    ds = make_synthetic(n_samples=100, num_classes=2, image_size=16, noise=200.0, images_per_group=1, seed=0)
    return StudyData(ds, Tensors.from_arrays(ds.images, ds.labels))


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread (as every study row is computed)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_schedule_forgets_every_pool_example_at_least_rounds_times():
    forgets = ulira.schedule(224, 55, rounds=8, blocks=5, seed=0)
    assert forgets.shape == (40, 224)
    assert (forgets.sum(axis=1) == 55).all() and forgets.sum(axis=0).min() >= 8
    assert (forgets == ulira.schedule(224, 55, rounds=8, blocks=5, seed=0)).all()
    assert not (forgets == ulira.schedule(224, 55, rounds=8, blocks=5, seed=1)).all()
    with pytest.raises(ValueError, match="blocks"):
        ulira.schedule(300, 55, rounds=8, blocks=5, seed=0)  # a block would exceed the forget size


def test_the_design_pools_the_main_forget_sets_and_no_shadow_retrain_sees_its_forget_set(data):
    shadows = ulira.shadow_set(PROFILE, "synthetic", fraction=0.25)
    assert shadows.n_shadows == 16  # 8 rounds x 2 seeds
    pool, forgets = ulira.design(shadows, data)
    from unlearnlib.kinds.runner import forget_split

    main = [forget_split(shadows.main_experiment(s), data).forget for s in (0, 1)]
    assert (pool == np.unique(np.concatenate(main))).all() and forgets.sum(axis=0).min() >= 8
    train = data.split("train")
    for k in range(shadows.n_shadows):
        split = ulira.shadow_split(shadows, k, data)
        assert (split.forget == pool[forgets[k]]).all() and len(split.forget) == max(map(len, main))
        assert not np.isin(split.forget, split.retain).any() and (np.sort(np.r_[split.forget, split.retain]) == train).all()
    # shadow seeds: no study original (seeds < 100) and no retrain (RETRAIN_SEED_BASE and above)
    seeds = [shadows.shadow_original(k).seed for k in range(shadows.n_shadows)]
    assert min(seeds) >= 100 and max(seeds) < RETRAIN_SEED_BASE and len(set(seeds)) == len(seeds)
    assert retrain_seed(min(seeds)) > retrain_seed(99, 999)


def test_keys_are_stable_and_distinct():
    shadows = ulira.shadow_set(PROFILE, "synthetic", fraction=0.25)
    assert ulira.shadow_set(PROFILE, "synthetic", fraction=0.25).key() == shadows.key()
    assert ulira.shadow_set(PROFILE, "synthetic", fraction=0.25, rounds=9).key() != shadows.key()
    specs = [ulira.ULiraSpec(shadows, shadows.main_experiment(s, m)) for s in (0, 1) for m in ("original", "retrain", "finetune")]
    specs.append(dataclasses.replace(specs[0], fixed_variance=True))
    specs.append(ulira.ULiraSpec(shadows, shadows.main_experiment(0, "finetune", (("epochs", 2),))))
    keys = [kind_of(s).key(s) for s in specs]
    assert len(set(keys)) == len(keys) and keys[0] == config_key(ulira.ULiraSpec(shadows, shadows.main_experiment(0, "original")))
    assert specs[2].unlearning != specs[-1].unlearning and specs[2].unlearning == specs[5].unlearning  # shared across seeds
    assert kind_of(specs[0]).name == "ulira" and kind_of(specs[0].unlearning).ledger is None
    with pytest.raises(ValueError, match="pool holds"):
        ulira.ULiraSpec(shadows, shadows.main_experiment(2, "original"))  # seed 2's forget set is not in the pool


def test_the_original_is_flagged_far_above_chance_and_a_retrain_is_at_chance(data, tmp_path, one_thread):
    # 4 rounds on one seed: 4 shadows (below 8 per side: the pooled sd, declared in each row), to stay fast
    shadows = ulira.shadow_set(PROFILE, "synthetic", seeds=(0,), fraction=0.25, rounds=4)
    models, results = ModelStore(tmp_path / "models"), ResultStore(tmp_path / "ledger")
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny originals miss the study's memorization target
        for method in ("original", "retrain"):
            spec = ulira.ULiraSpec(shadows, shadows.main_experiment(0, method))
            rows[method] = ulira.run_ulira(spec, data=data, models=models, results=results)
    original, retrain = rows["original"], rows["retrain"]
    assert original["status"] == "ok" and original["n_shadows"] == 4 and original["min_unlearned"] == 4
    assert original["pooled_sd_share"] == 1.0
    assert original["auc"] > 0.75 and original["auc"] > retrain["auc"] + 0.2
    assert abs(retrain["auc"] - 0.5) < 0.2
    # read back, not recomputed: the side file and the row are cached
    assert ulira.run_ulira(ulira.ULiraSpec(shadows, shadows.main_experiment(0, "original")), data=data, models=models,
                           results=results)["finished_utc"] == original["finished_utc"]
    assert list((tmp_path / "models" / ulira.SIDE_FILES).glob("ulira-*.npz"))


def test_the_plan_costs_an_attack_and_counts_shared_shadows_once():
    from unlearnlib.kinds.cost import Cost
    from unlearnlib.execution.distributed import task_graph
    from unlearnlib.profiles import get_profile

    prof = get_profile("cpu")
    shadows = ulira.shadow_set(prof, "breastmnist")
    assert shadows.n_shadows == 40  # 8 rounds x 5 seeds: each pool example forgotten by >= 8
    cost, charged = Cost(prof), set()
    specs = [ulira.ULiraSpec(shadows, shadows.main_experiment(s, m)) for m in ("finetune", "retrain") for s in prof.seeds]
    units = [cost.of(spec, charged) for spec in specs]
    retrain = cost.training("breastmnist", 546 - 55)
    assert units[0] == pytest.approx(40 * (cost.training("breastmnist", 546) + retrain) + 41 * cost.method("finetune", "breastmnist"))
    assert units[1] == units[4] == pytest.approx(cost.method("finetune", "breastmnist"))  # the shadows are counted once
    assert units[5] == pytest.approx(41 * retrain) and units[6] == pytest.approx(retrain)  # retrain: 40 replica shadow retrains
    graph = task_graph(specs[:1])
    models = [s for s in graph if isinstance(s, ulira.ShadowModel)]
    assert len(models) == 40 and specs[0].unlearning in graph[specs[0]] and set(graph[specs[0].unlearning]) == set(models)
    assert len([s for s in task_graph(specs[5:6]) if isinstance(s, ulira.ShadowModel)]) == 80
