"""Selective Synaptic Dampening (SSD): shrink the weights that matter far more to the
forget set than to the training data, without any retraining.
Foster et al., "Fast Machine Unlearning Without Retraining Through Selective Synaptic
Dampening", AAAI 2024; reference code github.com/if-loops/selective-synaptic-dampening
(ssd.py: ParameterPerturber.calc_importance / modify_weight; src/forget_random_main.py,
src/forget_random_strategies.py: ssd_tuning).

Importance I = mean over batches of (grad of the batch-mean CE)^2. Selected: I_forget >
alpha * I_train; there theta <- theta * min(lambda * I_train / I_forget, 1).

Batches, as the reference's random forgetting builds them: batch 128; the forget and retain
sets are torch random_split subsets, so each comes in a random order; the forget loader
keeps that order (shuffle=False) and the training loader is ConcatDataset(retain, forget),
also unshuffled: retain in its random order, then forget in the same order as for the forget
importance. Here the run's seed draws the two orders (separate streams, see
``importance_seeds``). Walking the study's sorted indices instead would make most batches a
single class (HAM10000 is grouped by diagnosis), and a squared batch-mean gradient depends on
the batch's class mix. Deviation: the reference's full- and sub-class runs walk their retain
sets class by class (built per class, unshuffled); that is an artefact of how they are
assembled, so every scenario here uses the random order of random forgetting.

lambda and alpha in the reference: lambda ("dampening_constant") is 1 in every run script
(random, full-class, sub-class forgetting); alpha ("selection_weighting") is 10 for ResNet18
throughout, 5 (full-class) or 25 (sub-class) for ViT. The one exception is a comment for
PinsFaceRecognition (alpha 50, lambda 0.1).

Why alpha is 3.5 here, not 10: the reference's random-forgetting runs forget about 100
CIFAR-10 images, one batch, so I_forget is a single squared batch gradient, as noisy as one
batch of I_train, and alpha 10 selects its tail (for a weight with no forget signal,
P(chi2_1 > 10) = 0.16 %). A 10 % HAM10000 forget set is 700 images, six batches, whose mean
is far less noisy (chi2_6 / 6): alpha 10 then selected 0.13 % of the weights at 10 % and
0.001 % at 30 % (measured on the old cpu model, batches in index order) and left the model
unchanged. The same 0.16 % tail of chi2_6 / 6 lies at 3.56, so alpha 3.5 keeps the
reference's selection rate at six forget batches (by batch count, the analogue of scaling
by steps).

Search space: alpha only, log-uniform on [1, 12], lambda fixed at the reference's 1. A
selected weight is multiplied by lambda * I_train / I_forget < lambda / alpha, so lambda far
below alpha (which tuning over lambda in [0.1, 10] often picked) shrinks every selected
weight many times over, a regime the reference's run scripts never use. 12 is about 3.5^2,
so the range is centred (in log) on the default and holds the reference's ResNet18 10 (and
ViT 5); below alpha = lambda = 1 a lower alpha changes nothing (the extra weights it selects
get factor min(.., 1) = 1). The low end matters for large forget sets: the training
importance contains the forget batches, so I_forget / I_train stays below roughly
1 / (forget share), about 3.3 at 30 %.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import ClassVar, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..constraints import BATCH_SIZE, POSITIVE, WEIGHT, Domain, domain
from ..training import Tensors
from .base import Hyperparameters, register
from .common import to_device


ALPHA_DEFAULT = 3.5  # see the module docstring


@dataclass(frozen=True)
class SSDHyperparameters(Hyperparameters):
    alpha: float = ALPHA_DEFAULT  # selection weighting
    dampening: float = 1.0  # lambda: the reference's 1, not tuned (see the module docstring)
    batch_size: int = 128

    domains: ClassVar[Mapping[str, Domain]] = {
        "alpha": domain(POSITIVE),  # selection threshold: 0 would select every parameter
        "dampening": WEIGHT,  # lambda: 0 zeroes every selected weight; fixed at 1 in tuning
        "batch_size": BATCH_SIZE,
    }
    search_space: ClassVar[dict[str, tuple]] = {"alpha": ("logfloat", 1.0, 12.0)}


def _seed(seed) -> int:
    try:
        value = operator.index(seed)
    except TypeError:
        value = -1
    if value < 0:
        raise ValueError(f"seed={seed!r} is not allowed; seed must be a non-negative integer")
    return value


def importance_seeds(seed: int) -> tuple[int, int]:
    """(retain, forget) seeds of the sample orders, two streams derived from the run's seed
    so that each order is reproducible and neither depends on the other's draws."""
    retain_seed, forget_seed = np.random.SeedSequence(_seed(seed)).generate_state(2)
    return int(retain_seed), int(forget_seed)


def sample_order(n: int, seed: int) -> np.ndarray:
    """A seeded random order of 0..n-1 (the reference's random_split order)."""
    if operator.index(n) < 0:
        raise ValueError(f"n={n!r} is not allowed; n must be a non-negative integer")
    return np.random.default_rng(_seed(seed)).permutation(n)


def cut(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``order`` in consecutive batches of ``batch_size`` (the last may be short), as an
    unshuffled DataLoader with drop_last=False."""
    if isinstance(batch_size, bool) or operator.index(batch_size) < 1:
        raise ValueError(f"batch_size={batch_size!r} is not allowed; batch_size must be an integer >= 1")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def importance_batches(n: int, batch_size: int, seed: int) -> list[np.ndarray]:
    """The index batches ``importance`` walks for a set of ``n`` samples."""
    return cut(sample_order(n, seed), batch_size)


def importance_over(model, data: Tensors, batches: list[np.ndarray]) -> list[torch.Tensor]:
    """Mean over ``batches`` (index arrays into ``data``) of the squared gradient of the
    batch's mean CE loss, in eval mode (the reference's calc_importance)."""
    model.eval()
    totals = [torch.zeros_like(p) for p in model.parameters()]
    for index in batches:
        index = torch.as_tensor(index, dtype=torch.long)
        x, y = to_device(model, data.x[index], data.y[index])
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        for total, p in zip(totals, model.parameters()):
            if p.grad is not None:
                total += p.grad.detach() ** 2
    model.zero_grad(set_to_none=True)
    return [total / max(1, len(batches)) for total in totals]


def importance(model, data: Tensors, batch_size: int, *, seed: int) -> list[torch.Tensor]:
    """Importance over ``data`` in batches of a seeded random order (``importance_batches``)."""
    return importance_over(model, data, importance_batches(len(data), batch_size, seed))


def training_batches(n_retain: int, n_forget: int, batch_size: int, seed: int) -> list[np.ndarray]:
    """Index batches into retain + forget (concatenated in that order) for the training
    importance: the retain set in its seeded order, then the forget set in the order the
    forget importance uses, cut into consecutive batches, as the reference's unshuffled
    DataLoader over ConcatDataset(retain, forget)."""
    retain_seed, forget_seed = importance_seeds(seed)
    order = np.concatenate([sample_order(n_retain, retain_seed), n_retain + sample_order(n_forget, forget_seed)])
    return cut(order, batch_size)


def ssd_importances(model, task, batch_size: int, *, seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(training importance over retain + forget, forget importance), the batches drawn from ``seed``."""
    train = Tensors(torch.cat([task.retain.x, task.forget.x]), torch.cat([task.retain.y, task.forget.y]))
    train_importance = importance_over(model, train, training_batches(len(task.retain), len(task.forget), batch_size, seed))
    _, forget_seed = importance_seeds(seed)
    forget_importance = importance(model, task.forget, batch_size, seed=forget_seed)
    return train_importance, forget_importance


def ssd_selection(forget_importance, train_importance, alpha: float) -> list[torch.Tensor]:
    """Boolean masks of the weights SSD dampens."""
    return [f > alpha * t for f, t in zip(forget_importance, train_importance)]


def dampened_share(selected: list[torch.Tensor]) -> float:
    return float(sum(int(s.sum()) for s in selected) / sum(s.numel() for s in selected))


@register(
    "ssd", hyperparameters=SSDHyperparameters, summary="dampen weights important to forget only (SSD, no training)",
    version="ceee505a8e",  # the source digest it replaced: its committed rows keep their code version
)
def ssd(model, task, hp, *, seed, progress):
    train_importance, forget_importance = ssd_importances(model, task, hp.batch_size, seed=seed)
    with torch.no_grad():
        for p, f, t, selected in zip(
            model.parameters(), forget_importance, train_importance, ssd_selection(forget_importance, train_importance, hp.alpha)
        ):
            factor = (hp.dampening * t / f.clamp_min(1e-30)).clamp(max=1.0)
            p[selected] *= factor[selected]
    return model
