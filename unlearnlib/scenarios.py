"""Forget-set selection: who asks to be forgotten. Every draw is seeded and inside train."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import ImageDataset


@dataclass(frozen=True, eq=False)
class ForgetSplit:
    """Forget and retain indices (into the dataset), disjoint, together the training split."""

    forget: np.ndarray
    retain: np.ndarray
    description: str

    def __post_init__(self) -> None:
        if np.intersect1d(self.forget, self.retain).size:
            raise AssertionError("forget and retain sets overlap")


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise ValueError(f"forget fraction must lie strictly between 0 and 1; got {fraction}")


def random_fraction(dataset: ImageDataset, *, fraction: float, seed: int) -> ForgetSplit:
    """A uniformly random ``fraction`` of the training images (at least one image)."""
    _check_fraction(fraction)
    train = dataset.split_indices("train")
    size = max(1, round(fraction * len(train)))
    if size >= len(train):
        raise ValueError(f"a forget fraction of {fraction} leaves no retain set ({len(train)} training images)")
    rng = np.random.default_rng(seed)
    forget = np.sort(rng.choice(train, size=size, replace=False))
    retain = np.setdiff1d(train, forget)
    return ForgetSplit(forget, retain, f"random {fraction:.0%} of train: {size} of {len(train)} images (seed {seed})")
