"""A relearning attack: does forgotten knowledge come back? (issues 21 and 33)

Siddiqui, Weller, Krueger, Dziugaite, Mozer & Triantafillou, "From Dormant to Deleted:
Tamper-Resistant Unlearning Through Weight-Space Regularization" (arXiv 2505.22310, NeurIPS
2025) fine-tune an unlearned model briefly and find that forget accuracy returns close to the
original's after most approximate methods, while a model retrained without the forget set stays
where it was. Here the same attack, with the same attack set and seed, is run on the method's
model, on the retrained model (the baseline) and on the original (nothing forgotten: the ceiling).
The attack set: the budget's fixed random subset of the retain set plus ``k_forget`` forget images
drawn with the seed (:data:`RELEARN_KS`: the reference mixes a few in; k = 0 is issue 21's
retain-only attack). Every forget accuracy, before and after, of the method, the retrain and the
original, is measured on the forget images the attack did not see (k = 0: all of them).

Loss: CE(attack set), SGD, a cosine-decayed small learning rate, a fixed number of epochs.

The budget, scaled from the reference's public code (github.com/shoaibahmed/vision_relearning,
``scripts/train.sh`` and ``vision_unlearner.py``): CIFAR-10 ResNet-18 originals train 300
epochs (117,300 steps at batch 128) with Adam at lr 1e-4; the attack fine-tunes with the
training optimizer at a tenth of the training learning rate (1e-5), no weight decay, cosine
decay to a tenth of that, batch 128, for 10 epochs (its relearning grid, 3,910 steps: 3.3 %
of the original's steps) or 100 epochs (its training runs: 33 %), over the whole retain set.
This study keeps that shape: the original's optimizer (SGD, momentum 0.9) at a tenth of its
learning rate (0.005), no weight decay, cosine decay to a tenth, batch 128, 10 epochs, over a fixed
random half of the retain set (an attacker who holds part of the remaining data). Its share of the
original's scheduled optimizer steps under the cpu profile (60 epochs at batch 128, a floor of 800
steps, no short last batch: ``training_rules.batches_per_epoch``) at the main forget fraction, 10 %:

- HAM10000: 7,009 training images, forget set 701, retain 6,308, subset 3,154: 25 steps per
  epoch, 250 steps, 7.6 % of the original's 3,300 (60 epochs of 55), inside the reference's 3.3-33 %;
- BreastMNIST: 546 training images, forget set 55, retain 491, subset 246: 2 steps per epoch,
  20 steps, 2.5 % of the original's 800 (the floor: 160 epochs of 5), below the reference's
  shortest attack (3.3 %).

k = 5 or 25 forget images leave both step counts as they are; an original trained past its schedule
to fit (``training_rules.FitTarget``) has more steps, so a lower share. Computed with
``python -c "from unlearnlib.profiles import get_profile as g; from unlearnlib.kinds.relearn import RelearnBudget as B; r, b = g('cpu').recipe, B(); [print(d, b.steps(b.subset_size(n - f)), r.epochs_for(n) * r.steps_per_epoch(n)) for d, n, f in (('ham10000', 7009, 701), ('breastmnist', 546, 55))]"``
(250 of 3300, 20 of 800). Until issue 33 this said 15 % and 13 %, of the 30-epoch originals'
1,650 and 150 steps, which the cpu recipe no longer trains.

The verdict (:mod:`unlearnlib.report.relearn_verdict`): what the attack *changes* in the method's forget
accuracy minus what it changes in the retrain's, paired over seeds.
"""
from __future__ import annotations

import copy
import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..algorithms import DivergedError, get_method
from .originals import StudyData, load_study_data
from .runner import ResultStore, prepare, unlearned_model
from .specs import PIPELINE_VERSION, ExperimentSpec, retrain_seed
from ..results.ledger import MissingResultError, ledger_only
from ..provenance import RELEARN_VERSION, compute_path_tag, key_of, method_code_version, plain
from ..results.store import ModelStore
from ..training import Tensors, batch_order, batches_per_epoch, deterministic, device_of, evaluate, generator, random_flips

LEDGER_KIND = "relearning"
RELEARN_KS = (0, 5, 25)  # forget images in the attack set (issue 33): retain-only, a few, more
_FORGET_STREAM = 1  # the k forget images' random stream (the retain subset draws from the seed alone)


@dataclass(frozen=True)
class RelearnBudget:
    """What the attacker may do: fine-tune on ``subset_fraction`` of the retain set for
    ``epochs`` passes (see the module docstring for how it was scaled)."""

    subset_fraction: float = 0.5
    epochs: int = 10
    lr: float = 0.005
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 0.0
    final_lr_factor: float = 0.1  # cosine decay from lr to lr * final_lr_factor
    flips: bool = False  # as the cpu and gpu originals train

    def __post_init__(self) -> None:
        if not 0 < self.subset_fraction <= 1:
            raise ValueError(f"subset_fraction must lie in (0, 1]; got {self.subset_fraction}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"epochs >= 1, batch_size >= 1 and lr > 0 are required; got {self}")
        if not 0 <= self.final_lr_factor <= 1 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError(f"final_lr_factor in [0, 1], weight_decay >= 0 and momentum in [0, 1) are required; got {self}")

    def subset_size(self, n_retain: int) -> int:
        """Images in the attacker's subset of a retain set of ``n_retain`` (at least one)."""
        return max(1, round(self.subset_fraction * n_retain))

    def steps(self, subset_size: int) -> int:
        return self.epochs * batches_per_epoch(subset_size, self.batch_size)

    def describe(self) -> str:
        return f"{self.subset_fraction:.0%} of retain, {self.epochs} epochs, lr {self.lr:g}, batch {self.batch_size}"


def relearn_subset(retain_indices: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A fixed random subset of ``size`` retain indices (sorted), drawn with ``seed``."""
    retain_indices = np.asarray(retain_indices)
    if not 1 <= size <= len(retain_indices):
        raise ValueError(f"subset size must lie in [1, {len(retain_indices)}] (the retain set's size); got {size}")
    chosen = np.random.default_rng(seed).choice(len(retain_indices), size=size, replace=False)
    return np.sort(retain_indices[chosen])


def relearn(model: nn.Module, data: Tensors, budget: RelearnBudget, seed: int) -> nn.Module:
    """A copy of ``model`` fine-tuned with cross-entropy on ``data`` (all of it: pass the
    attacker's subset) for the budget's epochs; ``model`` itself is never changed."""
    if len(data) == 0:
        raise ValueError("cannot relearn on an empty set")
    attacked = copy.deepcopy(model)
    steps = budget.steps(len(data))
    optimizer = torch.optim.SGD(attacked.parameters(), lr=budget.lr, momentum=budget.momentum, weight_decay=budget.weight_decay)
    floor = budget.final_lr_factor

    def factor(step: int) -> float:  # no warm-up: the model is trained already
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * step / steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    gen, device = generator(seed), device_of(attacked)
    with deterministic():
        attacked.train()
        for _ in range(budget.epochs):
            for index in batch_order(len(data), budget.batch_size, gen):
                x, y = data.x[index], data.y[index]
                if budget.flips:
                    x = random_flips(x, gen)
                loss = F.cross_entropy(attacked(x.to(device)), y.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
    attacked.eval()
    return attacked


def forget_in_attack(forget: np.ndarray, k_forget: int, seed: int) -> np.ndarray:
    """The ``k_forget`` forget indices the attacker holds (sorted): the first ``k_forget`` of a permutation
    of ``forget`` drawn with ``seed`` (a smaller k's are among a larger k's); some must stay unseen."""
    forget = np.asarray(forget)
    if isinstance(k_forget, bool) or int(k_forget) != k_forget or not 0 <= k_forget < len(forget):
        raise ValueError(f"k_forget must be an integer in [0, {len(forget)}) (the forget set's size: at least one forget image "
                         f"must stay unseen by the attack); got {k_forget!r}")
    order = np.random.default_rng([int(seed), _FORGET_STREAM]).permutation(len(forget))
    return np.sort(forget[order[: int(k_forget)]])


def unseen_forget(forget: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The forget indices the attack did not see, in ``forget``'s order (all of them when none was seen)."""
    forget = np.asarray(forget)
    return forget[~np.isin(forget, seen)] if len(seen) else forget


@dataclass(frozen=True, eq=False)
class RelearnOutcome:
    """The attacked model, its forget accuracy and mean loss on the unseen forget images
    (``unseen``), and what the attack used: the retain ``subset``, the forget images ``seen``."""

    model: nn.Module
    forget_acc: float
    forget_loss: float
    subset: np.ndarray
    steps: int
    seconds: float
    seen: np.ndarray
    unseen: np.ndarray


def relearning_attack(model: nn.Module, tensors: Tensors, *, retain: np.ndarray, forget: np.ndarray, budget: RelearnBudget,
                      seed: int, k_forget: int = 0) -> RelearnOutcome:
    """Relearn a copy of ``model`` on the budget's random subset of ``retain`` (indices into
    ``tensors``) plus ``k_forget`` forget images (:func:`forget_in_attack`), then measure it on the
    forget images it did not see. Refuses a retain set that shares an index with the forget set:
    the attack sees exactly the forget images it is given, no other."""
    shared = np.intersect1d(retain, forget)
    if len(shared):
        raise ValueError(f"the retain set holds {len(shared)} forget indices (e.g. {shared[:5].tolist()}); they must be disjoint")
    seen = forget_in_attack(forget, k_forget, seed)
    subset = relearn_subset(retain, budget.subset_size(len(retain)), seed)
    attack_set = np.concatenate([subset, seen]) if len(seen) else subset  # k = 0: the retain subset exactly, as before k existed
    started = time.perf_counter()
    attacked = relearn(model, tensors.subset(attack_set), budget, seed)
    seconds = time.perf_counter() - started
    unseen = unseen_forget(forget, seen)
    result = evaluate(attacked, tensors.subset(unseen))
    return RelearnOutcome(attacked, result.accuracy, float(result.losses.mean()), subset, budget.steps(len(attack_set)), seconds,
                          seen, unseen)


# ----------------------------------------------------------------------------- ledger rows


@dataclass(frozen=True)
class RelearnSpec:
    """The relearning attack on one experiment's model, its retrain and its original, with
    ``k_forget`` forget images in the attack set (:func:`relearning_attack`)."""

    experiment: ExperimentSpec
    budget: RelearnBudget = RelearnBudget()
    k_forget: int = 0

    kind: ClassVar[str] = LEDGER_KIND
    # Added by issue 33: left out of the key at 0, so every retain-only row keeps the key it was committed under.
    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("k_forget",)

    def __post_init__(self) -> None:
        if isinstance(self.k_forget, bool) or not isinstance(self.k_forget, (int, np.integer)) or self.k_forget < 0:
            raise ValueError(f"k_forget must be a non-negative integer (forget images in the attack set); got {self.k_forget!r}")
        object.__setattr__(self, "k_forget", int(self.k_forget))  # a numpy integer would not serialise

    @property
    def profile(self) -> str:
        return self.experiment.profile

    def label(self) -> str:
        with_forget = f" + {self.k_forget} forget images" if self.k_forget else ""
        return f"relearning ({self.budget.describe()}{with_forget}) of {self.experiment.label()}"

    def code_version(self) -> str:
        """The pipeline's and this attack's versions, the method's and the retraining code's digests."""
        return (f"p{PIPELINE_VERSION}rl{RELEARN_VERSION}-{method_code_version(self.experiment.method)}-{method_code_version('retrain')}"
                f"{compute_path_tag()}")


def _relearned_reference(base: str, spec: RelearnSpec, task, split, data: StudyData, models: ModelStore) -> dict:
    """Forget accuracy (on the unseen forget images) before and after the attack of the retrained
    model or the original (``base``); the attacked model is cached per forget set, k, budget and seed."""
    experiment, seed = spec.experiment, spec.experiment.seed
    config = {"relearned": base, "original": experiment.original, "forget": key_of(split.forget.tolist()),
              "init_seed": retrain_seed(seed) if base == "retrain" else seed, "budget": spec.budget, "seed": seed,
              "code": f"{RELEARN_VERSION}-{method_code_version('retrain')}"}
    if spec.k_forget:  # k = 0 finds the models cached before k existed
        config["k_forget"] = spec.k_forget
    forget = _unseen_tensors(spec, split, task, data)
    attacked = task.make_model(0)
    cached = models.load("relearned", config, attacked)
    if cached is None:
        model = task.original if base == "original" else unlearned_model(experiment.retrain_spec(), task, split, models, False)[0]
        outcome = relearning_attack(model, data.tensors, retain=split.retain, forget=split.forget, budget=spec.budget, seed=seed,
                                    k_forget=spec.k_forget)
        before = evaluate(model, forget).accuracy
        models.save("relearned", config, outcome.model, forget_acc_before=before, seconds=outcome.seconds, steps=outcome.steps,
                    subset_size=len(outcome.subset))
        attacked, cached = outcome.model, {"forget_acc_before": before, "seconds": outcome.seconds, "steps": outcome.steps,
                                           "subset_size": len(outcome.subset)}
    after = evaluate(attacked, forget)
    return {"before": float(cached["forget_acc_before"]), "acc": after.accuracy, "loss": float(after.losses.mean()),
            "test": evaluate(attacked, data.tensors.subset(data.split("test"))).accuracy,
            "seconds": float(cached["seconds"]), "steps": int(cached["steps"]), "subset_size": int(cached["subset_size"])}


def _method_model(experiment: ExperimentSpec, task, split, models: ModelStore, progress: bool) -> nn.Module:
    """The method's unlearned model, cached per run: the attacks with k = 0, 5 and 25 forget images
    on one main-table run read one model instead of running the method three times. The run is
    deterministic (its seed, one thread; weights saved in the default layout), so a row is the same
    whichever attack ran the method. Never called for ``retrain`` or ``original`` (their attacked
    models are the cached references)."""
    config = {"unlearned": experiment, "forget": key_of(split.forget.tolist()), "code": method_code_version(experiment.method),
              "path": compute_path_tag()}
    model = task.make_model(0)
    if models.load("unlearned", config, model) is not None:
        return model.eval()
    model, _ = unlearned_model(experiment, task, split, models, progress)
    models.save("unlearned", config, model)
    return model


def _unseen_tensors(spec: RelearnSpec, split, task, data: StudyData) -> Tensors:
    """The forget images ``spec``'s attack does not see (k = 0: the task's forget set itself)."""
    if not spec.k_forget:
        return task.forget
    return data.tensors.subset(unseen_forget(split.forget, forget_in_attack(split.forget, spec.k_forget, spec.experiment.seed)))


def relearned_references(spec: RelearnSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
                         results: ResultStore | None = None) -> None:
    """Train into the model cache (or find there) the attacked retrained model and original of
    ``spec``'s forget set, which every method's attack on that forget set reads; adds no row."""
    results, models = results or ResultStore(), models or ModelStore()
    data_, split, task = prepare(spec.experiment, data, models, False, ledger=results.ledger)
    for base in ("retrain", "original"):
        _relearned_reference(base, spec, task, split, data_, models)


def run_relearning(spec: RelearnSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
                   results: ResultStore | None = None, progress: bool = False) -> dict:
    """The ledger row of one relearning attack (computed and appended when missing): the
    method's forget accuracy before and after, the relearned retrain's and original's, all on the
    forget images the attack did not see, and ``relearn_gap`` = the method's relearned forget
    accuracy minus the retrain's (signed: positive means knowledge came back that retraining does
    not give). A row with ``k_forget`` > 0 carries it and ``forget_unseen``, the images measured."""
    results = results or ResultStore()
    experiment = spec.experiment
    get_method(experiment.method)  # fail on an unknown name before any work

    def compute() -> dict:
        models_ = models or ModelStore()
        data_, split, task = prepare(experiment, data, models_, progress, ledger=results.ledger)
        retrain = _relearned_reference("retrain", spec, task, split, data_, models_)
        original = _relearned_reference("original", spec, task, split, data_, models_)
        status = "ok"
        if experiment.method in ("retrain", "original"):
            own = retrain if experiment.method == "retrain" else original
        else:
            try:
                model = _method_model(experiment, task, split, models_, progress)
                outcome = relearning_attack(model, data_.tensors, retain=split.retain, forget=split.forget, budget=spec.budget,
                                            seed=experiment.seed, k_forget=spec.k_forget)
                before = evaluate(model, _unseen_tensors(spec, split, task, data_)).accuracy
                own = {"before": before, "acc": outcome.forget_acc, "loss": outcome.forget_loss,
                       "test": evaluate(outcome.model, data_.tensors.subset(data_.split("test"))).accuracy,
                       "seconds": outcome.seconds, "steps": outcome.steps, "subset_size": len(outcome.subset)}
            except DivergedError as error:
                nan = float("nan")
                status, own = f"diverged: {error}", {"before": nan, "acc": nan, "loss": nan, "test": nan, "seconds": nan,
                                                     "steps": retrain["steps"], "subset_size": retrain["subset_size"]}
        return {
            "dataset": experiment.original.dataset,
            "model": experiment.original.model,
            "seed": experiment.seed,
            "scenario": experiment.scenario,
            **{f"scenario_{k}": v for k, v in experiment.scenario_params},
            "forget_size": len(split.forget),
            **({"k_forget": spec.k_forget, "forget_unseen": len(split.forget) - spec.k_forget} if spec.k_forget else {}),
            "method": experiment.method,
            "status": status,
            "subset_size": own["subset_size"],
            "steps": own["steps"],
            "forget_acc_before": own["before"],
            "relearn_forget_acc": own["acc"],
            "relearn_forget_loss": own["loss"],
            "relearn_test_acc": own["test"],
            "retrain_forget_acc_before": retrain["before"],
            "retrain_relearn_forget_acc": retrain["acc"],
            "retrain_relearn_forget_loss": retrain["loss"],
            "original_forget_acc_before": original["before"],
            "original_relearn_forget_acc": original["acc"],
            "relearn_gap": own["acc"] - retrain["acc"],
            "relearn_seconds": own["seconds"],
            "budget": json.dumps(plain(spec.budget), sort_keys=True),
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def relearn_ks(forget_size: int) -> tuple[int, ...]:
    """The ks of :data:`RELEARN_KS` a forget set of about ``forget_size`` images takes: up to half of
    it, so that at least half stays unseen to measure (all on the cpu profile; the smoke profile drops 25)."""
    return tuple(k for k in RELEARN_KS if 2 * k <= forget_size)


def relearning_rows(specs: Sequence[RelearnSpec], *, results: ResultStore | None = None, models: ModelStore | None = None,
                    progress: bool = True) -> pd.DataFrame:
    """The ledger rows of ``specs`` (computed where missing), loading each dataset once."""
    from tqdm import tqdm

    results = results or ResultStore()
    pending = [s for s in specs if s not in results]
    if pending and ledger_only():  # fail before loading any data
        listed = "\n  ".join(s.label() for s in pending[:10])
        raise MissingResultError(f"the ledger ({results.ledger.root}) lacks {len(pending)} of {len(specs)} relearning rows, e.g.\n  {listed}\n"
                                 "compute them with `make reproduce` (resumes from the ledger), then commit data/ledger")
    by_original = defaultdict(list)
    for spec in specs:
        by_original[spec.experiment.original].append(spec)
    rows = {}
    bar = tqdm(total=len(pending), desc="relearning", disable=not progress or not pending)
    for original, group in by_original.items():
        data = load_study_data(original) if set(group) & set(pending) else None
        for spec in group:
            rows[spec] = run_relearning(spec, data=data, models=models, results=results)
            bar.update()
    bar.close()
    # k_forget from the spec: retain-only rows were committed without the column
    return pd.DataFrame([{**rows[s], "k_forget": s.k_forget} for s in specs])
