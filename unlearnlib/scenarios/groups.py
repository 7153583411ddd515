"""Whole groups: a patient who withdraws consent withdraws every image of their lesion.

An image without a group id is its own group (see the package docstring for how whole
groups meet a requested size).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import ImageDataset



@dataclass(frozen=True, eq=False)
class TrainGroups:
    """The training split's groups: a code per training image and label counts per group."""

    train: np.ndarray  # training indices, dataset order
    codes: np.ndarray  # group code of each training image, 0..G-1 by sorted group id
    label_counts: np.ndarray  # G x num_classes: the group's training images per label

    @property
    def size(self) -> np.ndarray:
        return self.label_counts.sum(axis=1)

    def eligible(self, in_pool: np.ndarray) -> np.ndarray:
        """Groups whose every training image is in the pool (a bool per training image)."""
        outside = np.bincount(self.codes, weights=(~in_pool).astype(float), minlength=len(self.label_counts))
        return outside == 0

    def images(self, chosen: np.ndarray) -> np.ndarray:
        return self.train[np.isin(self.codes, chosen)]


def train_groups(dataset: ImageDataset) -> TrainGroups:
    train = dataset.split_indices("train")
    ids = dataset.metadata["group"].to_numpy()[train]
    missing = pd.isna(ids)
    codes = np.empty(len(train), dtype=np.intp)
    known, names = pd.factorize(ids[~missing], sort=True)  # sorted so the seed alone fixes the order
    codes[~missing] = known
    # Nothing links an image without a group id to another image: it is its own group.
    codes[missing] = len(names) + np.arange(int(missing.sum()))
    n_groups = len(names) + int(missing.sum())
    label_counts = np.zeros((n_groups, dataset.num_classes), dtype=np.int64)
    np.add.at(label_counts, (codes, dataset.labels[train]), 1)
    return TrainGroups(train, codes, label_counts)


def fill_groups(order: np.ndarray, counts: np.ndarray, target: np.ndarray, *, closest: bool = False) -> np.ndarray:
    """Groups, taken in ``order``, whose ``counts`` rows add up to ``target`` as nearly as possible.

    A group is taken when it fits what is still missing in every column, so the total
    never exceeds ``target``; with ``closest``, groups that overshoot are then added when
    they bring the total nearer (L1), e.g. a 3-image group when 2 images are missing.
    """
    missing = np.asarray(target, dtype=np.int64).copy()
    chosen = []
    for g in order:
        if not missing.any():
            break
        if (counts[g] <= missing).all():
            chosen.append(g)
            missing -= counts[g]
    if closest and missing.any():
        taken = set(chosen)
        for g in order:
            if g not in taken and np.abs(missing - counts[g]).sum() < np.abs(missing).sum():
                chosen.append(g)
                missing -= counts[g]
    return np.asarray(chosen, dtype=np.intp)


def matched_group_draws(
    groups: TrainGroups, orders: Mapping[str, np.ndarray], target: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One draw of whole groups per named order, all with the same per-label counts.

    Each draw fills ``target`` without exceeding it; while one falls short, every draw is
    redone with the counts all of them reached. Targets only shrink, so this ends.
    """
    while True:
        drawn = {name: fill_groups(order, groups.label_counts, target) for name, order in orders.items()}
        reached = {name: groups.label_counts[chosen].sum(axis=0) for name, chosen in drawn.items()}
        common = np.minimum.reduce(list(reached.values()))
        if all(np.array_equal(r, common) for r in reached.values()):
            return drawn, common
        target = common


def check_drawn(forget: np.ndarray, n_train: int, what: str, unit_hint: str) -> None:
    if not len(forget):
        raise ValueError(f"no whole group fits {what}; {unit_hint}")
    if len(forget) >= n_train:
        raise ValueError(f"{what} takes every training group and leaves no retain set")


def group_note(groups: TrainGroups, forget: np.ndarray, requested: int) -> str:
    n_groups = len(np.unique(groups.codes[np.isin(groups.train, forget)]))
    return (
        f"{len(forget)} of {len(groups.train)} training images in {n_groups} whole groups (requested {requested})"
    )

