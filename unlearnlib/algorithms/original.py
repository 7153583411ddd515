"""The untouched original model: the reference row every table starts from."""
from __future__ import annotations

from dataclasses import dataclass

from .base import Hyperparameters, register


@dataclass(frozen=True)
class OriginalHyperparameters(Hyperparameters):
    pass


@register(
    "original", hyperparameters=OriginalHyperparameters, summary="the original model, unchanged (reference)",
    version="42aaf251e3",  # the source digest it replaced: its committed rows keep their code version
)
def keep_original(model, task, hp, *, seed, progress):
    return model
