"""What every scenario shares: the forget split it returns, size checks and matched label counts."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..constraints import Interval, Options, domain
from ..data import ImageDataset

# Forget-set sizes of the size curves, as fractions of the training split.
FORGET_SIZE_FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
UNITS = ("group", "image")  # whole patients / lesions, or single images

# Domains shared by several scenarios: declared to the registry and checked by the functions.
FRACTION = domain(Interval(Real, 0, 1, closed="neither"))
SIZE = domain(Interval(Integral, 1, None, closed="left"))
UNIT = domain(Options(str, UNITS))


@dataclass(frozen=True, eq=False)
class ForgetSplit:
    """Forget and retain indices (into the dataset), disjoint, together the training split."""

    forget: np.ndarray
    retain: np.ndarray
    description: str

    def __post_init__(self) -> None:
        if np.intersect1d(self.forget, self.retain).size:
            raise AssertionError("forget and retain sets overlap")


# ---------------------------------------------------------------- shared helpers


def check_size(size: int, n_train: int) -> None:
    if int(size) != size or not 1 <= size < n_train:
        raise ValueError(
            f"forget size must be an integer between 1 and {n_train - 1} "
            f"(train has {n_train} images and retain may not be empty); got {size}"
        )


def split_train(train: np.ndarray, forget: np.ndarray, description: str) -> ForgetSplit:
    """Sorted forget indices and the rest of train as retain."""
    forget = np.sort(np.asarray(forget, dtype=np.intp))
    return ForgetSplit(forget, np.setdiff1d(train, forget), description)


def label_mix(dataset: ImageDataset, counts: np.ndarray) -> str:
    return ", ".join(f"{name} {int(n)}" for name, n in zip(dataset.class_names, counts) if n)


def largest_remainder(size: int, weights: np.ndarray) -> np.ndarray:
    """Split ``size`` proportionally to ``weights``; ties go to the lower label."""
    quotas = size * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: size - counts.sum()]] += 1
    return counts


def draw_per_label(dataset: ImageDataset, pool: np.ndarray, counts: np.ndarray, seed: int) -> np.ndarray:
    """A seeded draw of ``counts[c]`` images of each label c from ``pool``."""
    rng = np.random.default_rng(seed)
    labels = dataset.labels[pool]
    chosen = [rng.choice(pool[labels == c], size=int(n), replace=False) for c, n in enumerate(counts) if n]
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.intp)


def matched_label_counts(dataset: ImageDataset, size: int, pools: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-label counts (length ``num_classes``) of a forget set of ``size`` images.

    ``size`` is allocated over labels in proportion to the training label distribution
    (largest-remainder rounding), so every forget set of that size built from any of
    ``pools`` (name -> dataset indices) has the same diagnosis mix. Raises ValueError
    naming every pool and label that is short, and by how much.
    """
    train = dataset.split_indices("train")
    check_size(size, len(train))
    counts = largest_remainder(size, np.bincount(dataset.labels[train], minlength=dataset.num_classes))
    problems = shortfalls(dataset, size, counts, pools)
    if problems:
        fits = _largest_fitting_size(dataset, size, pools)
        hint = f"the largest size every pool can serve is {fits}" if fits else "no size fits every pool"
        raise ValueError("; ".join(problems) + f". Choose a smaller forget size: {hint}.")
    return counts


def shortfalls(
    dataset: ImageDataset, size: int, counts: np.ndarray, pools: Mapping[str, np.ndarray]
) -> list[str]:
    """One message per pool and label that has fewer images than ``counts`` asks for."""
    problems = []
    for name, pool in pools.items():
        have = np.bincount(dataset.labels[np.asarray(pool, dtype=np.intp)], minlength=dataset.num_classes)
        for c in np.flatnonzero(counts > have):
            cls = dataset.class_names[c]
            problems.append(
                f"a {name} forget set of {size} needs {counts[c]} {cls!r} images but train has only "
                f"{have[c]} {name} {cls!r} images (short by {counts[c] - have[c]})"
            )
    return problems


def _largest_fitting_size(dataset: ImageDataset, size: int, pools: Mapping[str, np.ndarray]) -> int:
    """The largest forget size below ``size`` whose matched counts fit every pool (0 if none)."""
    weights = np.bincount(dataset.labels[dataset.split_indices("train")], minlength=dataset.num_classes)
    for smaller in range(size - 1, 0, -1):
        if not shortfalls(dataset, smaller, largest_remainder(smaller, weights), pools):
            return smaller
    return 0

