"""Issue 32's training rules: no short batches, an original trained on until it fits, and the
ledger holding no row computed before a rule that changes it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from unlearnlib.models import create_model
from unlearnlib.training import (FitTarget, Tensors, TrainConfig, batch_order, batches_per_epoch, evaluate, fit, generator,
                                 has_short_batch, short_batch_limit, train_longer)


def _old_cut(n: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """How every committed row before issue 32 cut its batches: the last one as it fell."""
    return list(torch.randperm(n, generator=generator(seed)).split(batch_size))


@pytest.mark.parametrize("batch_size", [32, 40, 64, 128, 512])
def test_batches_are_the_old_ones_bit_for_bit_wherever_no_batch_was_short(batch_size):
    """Sizes whose last batch is at least a fifth of a batch (or that divide evenly, or fit in
    one batch) keep their batch sequence exactly, so the rows made of them keep their keys."""
    for n in range(1, 4 * batch_size + 1):
        if has_short_batch(n, batch_size):
            continue
        new, old = batch_order(n, batch_size, generator(n)), _old_cut(n, batch_size, n)
        assert len(new) == len(old) == batches_per_epoch(n, batch_size)
        assert all(torch.equal(a, b) for a, b in zip(new, old))


def test_the_study_sizes_that_kept_their_batches_and_those_that_did_not():
    # HAM10000's training split and the 10 % retain set (last batches of 97 and 36), BreastMNIST's
    # training split (34) and the 1 % retain set (27): unchanged. The 350-image requests' retain set (3 images) and the relearning
    # subset at 1 % (14): merged.
    assert not any(has_short_batch(n, 128) for n in (7009, 6308, 546, 6939, 3505))
    assert has_short_batch(6659, 128) and has_short_batch(3470, 128)
    assert short_batch_limit(128) == 26 and short_batch_limit(40) == 8


@pytest.mark.parametrize("n,batch_size", [(6659, 128), (70, 64), (202, 40), (2103, 512), (129, 128)])
def test_a_short_last_batch_joins_the_one_before(n, batch_size):
    new, old = batch_order(n, batch_size, generator(1)), _old_cut(n, batch_size, 1)
    assert len(new) == len(old) - 1 == batches_per_epoch(n, batch_size)
    assert min(len(b) for b in new) >= short_batch_limit(batch_size)  # no short batch at all
    assert all(torch.equal(a, b) for a, b in zip(new[:-1], old[:-2]))  # only the last one changed
    assert torch.equal(new[-1], torch.cat(old[-2:]))
    assert sorted(torch.cat(new).tolist()) == list(range(n))  # every sample once


def test_training_with_a_short_last_batch_takes_one_step_fewer_per_epoch():
    """The learning-rate schedule counts the steps the batches make (a cosine that ends at 0)."""
    recipe = TrainConfig(epochs=3, batch_size=16, lr=0.05, flips=False)
    assert recipe.steps_per_epoch(33) == 2 and recipe.steps_per_epoch(40) == 3
    data = Tensors(torch.rand(33, 3, 16, 16, generator=generator(0)), torch.randint(0, 3, (33,), generator=generator(0)))
    model = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    steps = []
    original_step = torch.optim.SGD.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original_step(self, *args, **kwargs)

    torch.optim.SGD.step = counting_step
    try:
        fit(model, data, recipe, seed=0, progress=False)
    finally:
        torch.optim.SGD.step = original_step
    assert len(steps) == 3 * 2


def test_fit_target_trains_on_until_the_model_fits_and_leaves_a_fitting_one_alone():
    """Flips keep a fixed budget from fitting; the target trains on past the schedule (checked
    each epoch) until eval-mode training accuracy reaches it. A model that fits when the schedule
    ends trains exactly as without a target: same weights, bit for bit."""
    data = Tensors(torch.rand(48, 3, 16, 16, generator=generator(0)), torch.randint(0, 3, (48,), generator=generator(0)))
    recipe = TrainConfig(epochs=2, batch_size=16, lr=0.05, flips=True)
    fixed = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    fit(fixed, data, recipe, seed=0, progress=False)
    assert evaluate(fixed, data).accuracy < 0.9  # the fixed budget does not fit random labels

    target = FitTarget(train_acc=0.9, max_extra_share=40)
    extended = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    history = fit(extended, data, recipe, seed=0, progress=False, until=target)
    assert history.extra_epochs > 0 and not history.missed_target
    assert evaluate(extended, data).accuracy >= 0.9
    assert len(history.loss) == history.correct.shape[0] == 2 + history.extra_epochs

    capped = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    short = fit(capped, data, recipe, seed=0, progress=False, until=FitTarget(train_acc=0.9, max_extra_share=0.5))
    assert short.extra_epochs == 1 and short.missed_target  # stops at the cap and says so

    long_recipe = TrainConfig(epochs=40, batch_size=16, lr=0.05, flips=False)
    plain, targeted = (create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0) for _ in range(2))
    fit(plain, data, long_recipe, seed=0, progress=False)
    assert evaluate(plain, data).accuracy >= 0.9
    assert fit(targeted, data, long_recipe, seed=0, progress=False, until=target).extra_epochs == 0
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), targeted.state_dict().values()))


def test_a_retrain_trains_as_many_extra_epochs_as_its_original():
    data = Tensors(torch.rand(32, 3, 16, 16, generator=generator(0)), torch.randint(0, 3, (32,), generator=generator(0)))
    recipe = TrainConfig(epochs=2, batch_size=16, lr=0.05, flips=False)
    model = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    with train_longer(3):
        assert fit(model, data, recipe, seed=0, progress=False).extra_epochs == 3
    assert fit(model, data, recipe, seed=0, progress=False).extra_epochs == 0
    with pytest.raises(ValueError, match="extra_epochs must be >= 0"):
        with train_longer(-1):
            pass


def test_no_committed_row_predates_a_training_rule_that_changes_it():
    """Every row a short batch or an extended original reached was recomputed under the rules
    (``python -m unlearnlib ledger restale --apply`` dropped the old ones)."""
    from unlearnlib.results.ledger import Ledger
    from unlearnlib.paths import project_root
    from unlearnlib.execution.ledger_audit import stale_keys

    assert stale_keys(Ledger(project_root() / "data" / "ledger")) == {}


def test_the_audit_finds_the_rows_a_short_batch_reached(tmp_path):
    """On a miniature ledger: a retrain of a 350-image request (retain 6,659) is stale, one of a
    701-image request (retain 6,308) is not; rows computed under the rules never are."""
    import json

    from unlearnlib.results.ledger import Ledger
    from unlearnlib.training import TRAINING_RULES
    from unlearnlib.execution.ledger_audit import stale_keys

    ledger = Ledger(tmp_path)
    ledger.put("originals", {"key": "o", "profile": "cpu", "dataset": "ham10000", "seed": 0, "n_train": 7009, "train_acc": 0.98})

    def experiment(key, forget, method="retrain", rules=""):
        spec = {"original": {"dataset": "ham10000", "seed": 0, "recipe": {"batch_size": 128}}, "method": method, "hyperparameters": []}
        return {"key": key, "profile": "cpu", "forget_size": forget, "spec": json.dumps(spec), "training_rules": rules}

    ledger.put("experiments", __import__("pandas").DataFrame([
        experiment("a", 350), experiment("b", 701), experiment("c", 350, rules=TRAINING_RULES), experiment("d", 70, "gradient_ascent")]))
    assert stale_keys(ledger) == {"experiments": ["a", "d"]}  # d: 70 forget images at batch 64 leave 6
    assert stale_keys(ledger, extended={("ham10000", 0)}) == {"originals": ["o"], "experiments": ["a", "b", "d"]}


def test_every_committed_retrain_fits_its_retain_set_like_the_others_of_its_dataset():
    from unlearnlib.results.ledger import Ledger
    from unlearnlib.paths import project_root
    from unlearnlib.execution.ledger_audit import retrain_fit_outliers

    outliers = retrain_fit_outliers(Ledger(project_root() / "data" / "ledger").table("experiments"))
    assert outliers.empty, outliers.to_string()


def test_the_retrain_fit_check_names_an_underfit_retrain():
    import pandas as pd

    from unlearnlib.execution.ledger_audit import retrain_fit_outliers

    table = pd.DataFrame({"dataset": "ham10000", "scenario": "random", "method": "retrain", "seed": [0, 1, 0, 1],
                          "forget_size": [350, 350, 701, 701], "retain_acc": [0.86, 0.97, 0.97, 0.975]})
    assert list(retrain_fit_outliers(table)["retain_acc"]) == [0.86]
