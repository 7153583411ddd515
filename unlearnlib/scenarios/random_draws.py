"""Random forget sets: a random fraction of train (images or whole groups), or whole patients."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..constraints import require
from ..data import ImageDataset
from .common import FRACTION, UNIT, ForgetSplit, split_train
from .groups import check_drawn, fill_groups, group_note, train_groups
from .registry import register_scenario

@register_scenario("random", params={"fraction": FRACTION, "unit": UNIT})
def random_fraction(dataset: ImageDataset, *, fraction: float, seed: int, unit: str = "group") -> ForgetSplit:
    """A random ``fraction`` of the training images (at least one image).

    ``unit="group"``: whole groups in a seeded order until the size is met as closely as
    their sizes allow (see the module docstring); ``unit="image"``: a uniform draw of images.
    """
    require("fraction", fraction, FRACTION)
    require("unit", unit, UNIT)
    train = dataset.split_indices("train")
    size = max(1, round(fraction * len(train)))
    if size >= len(train):
        raise ValueError(f"a forget fraction of {fraction} leaves no retain set ({len(train)} training images)")
    if unit == "image":
        rng = np.random.default_rng(seed)
        forget = np.sort(rng.choice(train, size=size, replace=False))
        retain = np.setdiff1d(train, forget)
        return ForgetSplit(forget, retain, f"random {fraction:.0%} of train: {size} of {len(train)} images (seed {seed})")
    groups = train_groups(dataset)
    order = np.random.default_rng(seed).permutation(len(groups.label_counts))
    chosen = fill_groups(order, groups.size[:, None], np.array([size]), closest=True)
    forget = groups.images(chosen)
    check_drawn(forget, len(train), f"a forget fraction of {fraction}", "ask for a larger fraction or unit='image'")
    return split_train(
        train,
        forget,
        f"random {fraction:.0%} of train: {group_note(groups, forget, size)}, "
        f"{len(forget) / len(train):.1%} of train (seed {seed})",
    )


@register_scenario("patient", params={"fraction": FRACTION})
def patient_level(dataset: ImageDataset, *, fraction: float, seed: int) -> ForgetSplit:
    """Whole groups (patients / lesions) at random until about ``fraction`` of train.

    Groups are added in a seeded random order; the group that first brings the forget
    set to at least ``fraction`` of train is the last one, so the achieved fraction can
    overshoot by less than one group. A group is never split between forget and retain.
    """
    require("fraction", fraction, FRACTION)
    train = dataset.split_indices("train")
    groups = dataset.metadata["group"].to_numpy()[train]
    if pd.isna(groups).any():
        raise ValueError(
            f"{int(pd.isna(groups).sum())} training images have no group id; "
            "patient-level forgetting needs one for every image"
        )
    codes, names = pd.factorize(groups, sort=True)  # sorted so the seed alone fixes the order
    target = max(1, round(fraction * len(train)))
    order = np.random.default_rng(seed).permutation(len(names))
    reached = np.cumsum(np.bincount(codes, minlength=len(names))[order])
    n_groups = int(np.searchsorted(reached, target)) + 1  # first prefix with >= target images
    if reached[n_groups - 1] >= len(train):
        raise ValueError(
            f"a patient-level forget fraction of {fraction} takes every training group and leaves no retain set"
        )
    forget = train[np.isin(codes, order[:n_groups])]
    return split_train(
        train,
        forget,
        f"patient-level: {n_groups} of {len(names)} training groups, {len(forget)} of {len(train)} images "
        f"({len(forget) / len(train):.1%} of train, target {fraction:.0%}; seed {seed})",
    )

