"""The unlearning methods: the interface, and each method's mechanism on small synthetic data.

The "memorized" task: the original model is trained on retain images with their true
labels plus forget images with random labels, until it reproduces those random labels.
Chance on the forget set is 1/3; a method that unlearns drives forget accuracy there.
"""
from __future__ import annotations

import dataclasses

import pytest
import torch

import unlearnlib.algorithms.random_label as random_label_module
import unlearnlib.algorithms.retrain as retrain_module
from unlearnlib.algorithms import DivergedError, UnknownMethodError, UnlearningTask, available, get_method, unlearn
from unlearnlib.algorithms.boundary_shrink import PIXEL_SCALE, nearest_wrong_labels, to_pixel_grid
from unlearnlib.algorithms.common import step
from unlearnlib.algorithms.fisher import clamped_share, fisher_diagonal
from unlearnlib.algorithms.random_label import relabelled_union
from unlearnlib.algorithms.salun import forget_gradient_magnitudes, saliency_mask
from unlearnlib.algorithms.ssd import dampened_share, ssd_importances, ssd_selection
from unlearnlib.data import make_synthetic
from unlearnlib.models import create_model
from unlearnlib.scenarios import random_fraction
from unlearnlib.training import Tensors, TrainConfig, evaluate, fit

RECIPE = TrainConfig(epochs=40, batch_size=32, lr=0.05, flips=False)
FAST = {  # cheap settings for the determinism / no-mutation checks
    "retrain": {"epochs": 2}, "finetune": {"epochs": 1}, "gradient_ascent": {"epochs": 1}, "neggrad_plus": {"epochs": 1},
    "random_label": {"epochs": 1}, "l1_sparse": {"epochs": 1}, "salun": {"epochs": 1}, "scrub": {"epochs": 1, "max_steps": 1},
    "bad_teacher": {}, "ssd": {}, "fisher": {"samples": 20}, "boundary_shrink": {"epochs": 1}, "original": {},
}
CHANGING = sorted(set(FAST) - {"original", "retrain"})  # every approximate method
# Settings for the memorized task, where the reference defaults (tuned for tens of
# thousands of images) take too few steps on 60 forget images.
UNLEARN = {
    "gradient_ascent": {"lr": 0.02, "epochs": 5},
    "neggrad_plus": {"lr": 0.05, "epochs": 5, "alpha": 0.9},
    "random_label": {"lr": 0.05, "epochs": 5},
    "salun": {"lr": 0.05, "epochs": 5},
    "scrub": {"lr": 0.02, "epochs": 5, "max_steps": 5},
    "bad_teacher": {"lr": 1e-2, "epochs": 5, "retain_share": 1.0, "batch_size": 32},
    "boundary_shrink": {"lr": 0.01, "epochs": 15},
}


def make_task(data, forget_labels_random: bool, seed: int = 0) -> UnlearningTask:
    tensors = Tensors.from_arrays(data.images, data.labels)
    split = random_fraction(data, fraction=0.2, seed=seed)
    retain, forget = tensors.subset(split.retain), tensors.subset(split.forget)
    if forget_labels_random:
        offset = torch.randint(1, data.num_classes, (len(forget),), generator=torch.Generator().manual_seed(seed))
        forget = Tensors(forget.x, (forget.y + offset) % data.num_classes)

    def make_model(model_seed):  # the cpu profile's model: no stem pool, so (almost) no dead weights
        return create_model("resnet_tiny_nopool", num_classes=data.num_classes, in_chans=data.in_chans, image_size=data.image_size, seed=model_seed)

    original = make_model(seed)
    union = Tensors(torch.cat([retain.x, forget.x]), torch.cat([retain.y, forget.y]))
    fit(original, union, RECIPE, seed=seed, progress=False)
    return UnlearningTask(original, retain, forget, tensors.subset(data.split_indices("val")), RECIPE, make_model, data.num_classes)


@pytest.fixture(scope="module")
def memorized():
    data = make_synthetic(n_samples=450, num_classes=3, image_size=16, noise=30, seed=1)
    task = make_task(data, forget_labels_random=True)
    assert evaluate(task.original, task.forget).accuracy >= 0.95, "the original must memorize the forget set"
    return task


@pytest.fixture(scope="module")
def ordinary():
    """Random forgetting as in the study: the forget set keeps its true labels."""
    data = make_synthetic(n_samples=450, num_classes=3, image_size=16, noise=30, seed=2)
    return make_task(data, forget_labels_random=False)


def hyperparameters(name: str, **overrides):
    return get_method(name).hyperparameters(**overrides)


def weights(model):
    return [t.detach().clone() for t in model.state_dict().values()]


def test_registry_lists_all_methods_and_rejects_unknown_names():
    expected = {"original", "retrain", "finetune", "gradient_ascent", "neggrad_plus", "random_label", "l1_sparse",
                "salun", "scrub", "bad_teacher", "ssd", "fisher", "boundary_shrink"}
    assert set(available()) == expected
    with pytest.raises(UnknownMethodError, match="unknown unlearning method 'forgetall'; known: original, retrain"):
        unlearn("forgetall", None, seed=0)


def test_adding_a_method_is_one_module_the_package_finds_with_its_version_and_domains(tmp_path):
    """Every module of the package but the shared pieces is a method module: it registers the method
    of its name, declares its version and a domain for each hyper-parameter (tests/test_validation.py
    checks the defaults and search spaces lie inside them). A new module is found without being listed."""
    from pathlib import Path

    import unlearnlib.algorithms as algorithms

    files = {p.stem for p in Path(algorithms.__file__).parent.glob("*.py")} - {"__init__", *algorithms.SHARED_MODULES}
    assert set(algorithms.method_modules()) == files == set(available())
    assert available() == algorithms.ORDER  # the study's order: tables, figures and the report list them so
    for name in available():
        method = get_method(name)
        assert method.run.__module__ == f"unlearnlib.algorithms.{name}"
        assert isinstance(method.version, str) and method.version
        assert set(method.hyperparameters.domains) == {f.name for f in dataclasses.fields(method.hyperparameters)}, name
    for name in ("base", "common", "retrain", "zz_new_method", "a_new_method"):
        (tmp_path / f"{name}.py").write_text("")
    assert algorithms.method_modules([str(tmp_path)]) == ("retrain", "a_new_method", "zz_new_method")
    with pytest.raises(ValueError, match="method 'x' needs a version"):
        algorithms.register("x", hyperparameters=algorithms.Hyperparameters, summary="", version="")


def test_every_method_declares_defaults_and_a_search_space():
    for name in available():
        hp_class = get_method(name).hyperparameters
        hp = hp_class()
        assert dataclasses.is_dataclass(hp) and hash(hp) == hash(hp_class())
        assert set(hp_class.search_space) <= set(hp.as_dict())
        if name not in ("original", "retrain"):
            assert hp_class.search_space, f"{name} declares nothing to tune"


@pytest.mark.slow
def test_retrain_never_sees_a_forget_sample(memorized, monkeypatch):
    seen = []
    real_fit = retrain_module.fit

    def spy(model, data, *args, **kwargs):
        seen.append(data.x.clone())
        return real_fit(model, data, *args, **kwargs)

    monkeypatch.setattr(retrain_module, "fit", spy)
    unlearn("retrain", memorized, hyperparameters("retrain", epochs=1), seed=0)
    assert len(seen) == 1 and len(seen[0]) == len(memorized.retain)
    trained = {row.numpy().tobytes() for row in seen[0].flatten(1)}
    assert not any(row.numpy().tobytes() in trained for row in memorized.forget.x.flatten(1))


@pytest.mark.parametrize("method", sorted(FAST))
def test_every_method_is_deterministic_and_leaves_the_original_untouched(memorized, method):
    before = weights(memorized.original)
    hp = hyperparameters(method, **FAST[method])
    first, second = unlearn(method, memorized, hp, seed=3), unlearn(method, memorized, hp, seed=3)
    for a, b in zip(before, weights(memorized.original)):
        assert torch.equal(a, b)
    for a, b in zip(weights(first.model), weights(second.model)):
        assert torch.equal(a, b)
    assert first.seconds >= 0 and first.method == method


@pytest.mark.parametrize("method", sorted(UNLEARN))
def test_method_drives_a_memorized_forget_set_towards_chance(memorized, method):
    result = unlearn(method, memorized, hyperparameters(method, **UNLEARN[method]), seed=0)
    forget_after = evaluate(result.model, memorized.forget).accuracy
    assert forget_after <= 0.5, f"{method} left forget accuracy at {forget_after:.2f} (chance 0.33, original 1.0)"


def test_finetune_keeps_retain_accuracy(memorized):
    before = evaluate(memorized.original, memorized.retain).accuracy
    after = evaluate(unlearn("finetune", memorized, seed=0).model, memorized.retain).accuracy
    assert after >= before - 0.02


def test_salun_changes_only_masked_weights(memorized):
    hp = hyperparameters("salun", **UNLEARN["salun"])
    mask = saliency_mask(unlearn("original", memorized, seed=0).model, memorized.forget, hp.saliency)
    assert sum(int(m.sum()) for m in mask) == pytest.approx(0.5 * sum(m.numel() for m in mask), rel=0.01)
    result = unlearn("salun", memorized, hp, seed=0)
    changed_inside = 0
    for m, before, after in zip(mask, memorized.original.parameters(), result.model.parameters()):
        changed = before.detach() != after.detach()
        assert not (changed & (m == 0)).any(), "a weight outside the saliency mask moved"
        changed_inside += int(changed.sum())
    assert changed_inside > 0


def test_ssd_changes_only_the_weights_it_selects(memorized):
    hp = hyperparameters("ssd", alpha=2.0)
    probe = unlearn("original", memorized, seed=0).model
    train_importance, forget_importance = ssd_importances(probe, memorized, hp.batch_size, seed=0)
    selected = ssd_selection(forget_importance, train_importance, hp.alpha)
    result = unlearn("ssd", memorized, hp, seed=0)
    n_changed = 0
    for chosen, before, after in zip(selected, memorized.original.parameters(), result.model.parameters()):
        changed = before.detach() != after.detach()
        assert not (changed & ~chosen).any(), "SSD moved a weight it did not select"
        assert (after.abs() <= before.abs() + 1e-12).all(), "dampening only shrinks"
        n_changed += int(changed.sum())
    assert n_changed > 0


def test_fisher_perturbs_weights_less_where_the_retain_set_needs_them(memorized):
    result = unlearn("fisher", memorized, hyperparameters("fisher", alpha=1e-6, samples=50), seed=0)
    moved = [(a - b).abs().max().item() for a, b in zip(result.model.parameters(), memorized.original.parameters())]
    assert max(moved) > 0
    heavy = unlearn("fisher", memorized, hyperparameters("fisher", alpha=1e-3, samples=50), seed=0)
    assert evaluate(heavy.model, memorized.retain).accuracy < evaluate(result.model, memorized.retain).accuracy


def test_boundary_shrink_labels_are_the_argmax_after_one_fgsm_step(memorized):
    model = unlearn("original", memorized, seed=0).model.eval()
    x, y = memorized.forget.x, memorized.forget.y
    labels = nearest_wrong_labels(model, x, y, hyperparameters("boundary_shrink"))
    # The reference: one signed-gradient step of 0.1 (in [0, 1] units), clipped to the pixel grid.
    probe = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(probe), y).backward()
    with torch.no_grad():
        expected = model(to_pixel_grid(x + 0.1 * PIXEL_SCALE * probe.grad.sign())).argmax(1)
    assert torch.equal(labels, expected)
    assert (labels != y).any(), "the attack crossed no boundary at all"
    # A step too small to leave the pixel grid fails everywhere: every true label is kept.
    kept = nearest_wrong_labels(model, x, y, hyperparameters("boundary_shrink", bound=1e-4))
    assert torch.equal(kept, model(x).argmax(1)) and torch.equal(kept, y)


def test_random_labels_are_uniform_over_all_classes_and_redrawn_each_epoch(memorized, monkeypatch):
    big = Tensors(torch.zeros(6000, *memorized.forget.x.shape[1:]), torch.arange(6000) % 3)
    task = dataclasses.replace(memorized, forget=big)
    labels = relabelled_union(task, torch.Generator().manual_seed(0)).y[len(task.retain):]
    kept = (labels == big.y).float().mean().item()
    assert abs(kept - 1 / 3) < 0.03, f"the true class is kept with probability {kept:.3f}, not 1/K = 0.333"
    assert set(labels.tolist()) == {0, 1, 2}
    drawn = []

    def spy(task, gen):
        union = relabelled_union(task, gen)
        drawn.append(union.y[len(task.retain):].clone())
        return union

    monkeypatch.setattr(random_label_module, "relabelled_union", spy)
    unlearn("random_label", memorized, hyperparameters("random_label", epochs=2), seed=0)
    assert len(drawn) == 2 and not torch.equal(drawn[0], drawn[1]), "labels must be redrawn each epoch"


def test_salun_mask_is_not_just_the_live_weights(memorized):
    """On a model without dead weights a 50 % mask must choose among live weights by
    saliency (at 16 px even resnet_tiny_nopool has dead ones, so the share is scaled to them)."""
    probe = unlearn("original", memorized, seed=0).model
    magnitudes = forget_gradient_magnitudes(probe, memorized.forget)
    live = [g > 0 for g in magnitudes]
    live_share = sum(int(m.sum()) for m in live) / sum(m.numel() for m in live)
    mask = saliency_mask(probe, memorized.forget, 0.5 * live_share)
    assert all(not (m.bool() & ~alive).any() for m, alive in zip(mask, live)), "the mask chose a dead weight"
    n_mask, n_live = sum(int(m.sum()) for m in mask), sum(int(m.sum()) for m in live)
    assert n_mask == pytest.approx(0.5 * n_live, rel=0.01), "the mask equals the set of live weights"
    inside = torch.cat([g[m.bool()] for g, m in zip(magnitudes, mask)])
    outside = torch.cat([g[~m.bool()] for g, m in zip(magnitudes, mask)])
    assert inside.min() >= outside.max(), "the mask must hold the most salient weights"
    default = saliency_mask(probe, memorized.forget, hyperparameters("salun").saliency)
    assert any(not torch.equal(m.bool(), alive) for m, alive in zip(default, live))


@pytest.mark.slow
def test_ssd_dampens_a_nonzero_share_at_its_defaults(ordinary):
    hp = hyperparameters("ssd")
    probe = unlearn("original", ordinary, seed=0).model
    train_importance, forget_importance = ssd_importances(probe, ordinary, hp.batch_size, seed=0)
    share = dampened_share(ssd_selection(forget_importance, train_importance, hp.alpha))
    assert share > 1e-3, f"SSD's default alpha {hp.alpha} dampens {share:.4%} of the weights"
    result = unlearn("ssd", ordinary, seed=0)
    assert any(not torch.equal(a, b) for a, b in zip(weights(result.model), weights(ordinary.original)))


def test_fisher_reports_where_its_clamp_binds(memorized):
    information = fisher_diagonal(memorized.original, memorized.retain.x[:40], memorized.num_classes, 20)
    share = clamped_share(information)
    assert 0 <= share <= 1
    assert clamped_share({k: torch.ones_like(v) for k, v in information.items()}) == 0
    assert clamped_share({k: torch.zeros_like(v) for k, v in information.items()}) == 1


def test_a_non_finite_loss_raises_diverged_error_naming_the_method(memorized):
    poisoned = dataclasses.replace(memorized, forget=Tensors(memorized.forget.x * float("nan"), memorized.forget.y))
    with pytest.raises(DivergedError, match="gradient_ascent diverged") as caught:
        unlearn("gradient_ascent", poisoned, seed=0)
    assert caught.value.method == "gradient_ascent"
    parameter = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    with pytest.raises(DivergedError, match="inf"):
        step(optimizer, parameter.sum() * float("inf"))
    assert torch.equal(parameter.detach(), torch.ones(2)), "a diverged step must not update the weights"


@pytest.mark.parametrize("method", CHANGING)
def test_every_method_changes_the_model_at_its_defaults(memorized, method):
    result = unlearn(method, memorized, seed=0)
    assert any(not torch.equal(a, b) for a, b in zip(result.model.parameters(), memorized.original.parameters())), f"{method} is a no-op"
    assert all(torch.isfinite(p).all() for p in result.model.parameters())


def test_wrong_hyperparameter_type_is_rejected(memorized):
    with pytest.raises(TypeError, match="finetune takes FinetuneHyperparameters"):
        unlearn("finetune", memorized, hyperparameters("retrain"), seed=0)
