"""Retraining from scratch on the retain set: the gold standard (exact unlearning).

Loss: CE(retain), with the original model's recipe, from a fresh initialisation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, Mapping

from ..constraints import AT_LEAST_ONE, Domain, domain
from ..training import fit
from .base import Hyperparameters, register


@dataclass(frozen=True)
class RetrainHyperparameters(Hyperparameters):
    epochs: int | None = None  # None: as many as the original model had

    domains: ClassVar[Mapping[str, Domain]] = {
        "epochs": domain(AT_LEAST_ONE, None),  # None: as many as the original had
    }


@register(
    "retrain", hyperparameters=RetrainHyperparameters, summary="train from scratch on retain (gold standard)",
    version="f2f8cdfdfc",  # the source digest it replaced: its committed rows keep their code version
)
def retrain(model, task, hp, *, seed, progress):
    fresh = task.make_model(seed)
    recipe = task.recipe if hp.epochs is None else dataclasses.replace(task.recipe, epochs=hp.epochs)
    fit(fresh, task.retain, recipe, seed=seed, progress=progress, desc="retrain")  # the retain set only
    return fresh
