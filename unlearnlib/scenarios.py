"""Forget-set selection: who asks to be forgotten. Every draw is seeded and inside train.

Scenarios: a random fraction of train, whole patients, one sex (with a matched label mix),
easy / hard samples (with a matched label mix), and one whole class. Each returns a
:class:`ForgetSplit` whose forget and retain sets partition the training split.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import ImageDataset

# Forget-set sizes of the size curves, as fractions of the training split.
FORGET_SIZE_FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
SEXES = ("male", "female")
DIFFICULTY_KINDS = ("easy", "hard", "random")
DIFFICULTY_SCORES = ("loss", "learning_speed")


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


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise ValueError(f"forget fraction must lie strictly between 0 and 1; got {fraction}")


def _check_size(size: int, n_train: int) -> None:
    if int(size) != size or not 1 <= size < n_train:
        raise ValueError(
            f"forget size must be an integer between 1 and {n_train - 1} "
            f"(train has {n_train} images and retain may not be empty); got {size}"
        )


def _split(train: np.ndarray, forget: np.ndarray, description: str) -> ForgetSplit:
    """Sorted forget indices and the rest of train as retain."""
    forget = np.sort(np.asarray(forget, dtype=np.intp))
    return ForgetSplit(forget, np.setdiff1d(train, forget), description)


def _label_mix(dataset: ImageDataset, counts: np.ndarray) -> str:
    return ", ".join(f"{name} {int(n)}" for name, n in zip(dataset.class_names, counts) if n)


def _largest_remainder(size: int, weights: np.ndarray) -> np.ndarray:
    """Split ``size`` proportionally to ``weights``; ties go to the lower label."""
    quotas = size * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: size - counts.sum()]] += 1
    return counts


def _draw_per_label(dataset: ImageDataset, pool: np.ndarray, counts: np.ndarray, seed: int) -> np.ndarray:
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
    _check_size(size, len(train))
    counts = _largest_remainder(size, np.bincount(dataset.labels[train], minlength=dataset.num_classes))
    problems = _shortfalls(dataset, size, counts, pools)
    if problems:
        fits = _largest_fitting_size(dataset, size, pools)
        hint = f"the largest size every pool can serve is {fits}" if fits else "no size fits every pool"
        raise ValueError("; ".join(problems) + f". Choose a smaller forget size: {hint}.")
    return counts


def _shortfalls(
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
        if not _shortfalls(dataset, smaller, _largest_remainder(smaller, weights), pools):
            return smaller
    return 0


# ---------------------------------------------------------------- random and patient-level


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


def patient_level(dataset: ImageDataset, *, fraction: float, seed: int) -> ForgetSplit:
    """Whole groups (patients / lesions) at random until about ``fraction`` of train.

    Groups are added in a seeded random order; the group that first brings the forget
    set to at least ``fraction`` of train is the last one, so the achieved fraction can
    overshoot by less than one group. A group is never split between forget and retain.
    """
    _check_fraction(fraction)
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
    return _split(
        train,
        forget,
        f"patient-level: {n_groups} of {len(names)} training groups, {len(forget)} of {len(train)} images "
        f"({len(forget) / len(train):.1%} of train, target {fraction:.0%}; seed {seed})",
    )


# ---------------------------------------------------------------- by sex


def _sex_pools(dataset: ImageDataset) -> dict[str, np.ndarray]:
    """Training indices of male and female images; 'unknown' and missing sex are in neither."""
    if not dataset.has_sex:
        raise ValueError(
            f"dataset {dataset.name!r} records no patient sex (metadata 'sex' is missing for every image); "
            "sex scenarios need a dataset with sex metadata, such as ham10000"
        )
    train = dataset.split_indices("train")
    sex = dataset.metadata["sex"].to_numpy()[train]
    return {s: train[sex == s] for s in SEXES}


def by_sex(
    dataset: ImageDataset, *, sex: str, size: int, seed: int, reference_mix: Sequence[int] | None = None
) -> ForgetSplit:
    """``size`` training images of one sex ('male', 'female') or of either ('mixed', a control).

    The per-label counts are ``reference_mix`` (one count per class, summing to ``size``)
    or, by default, :func:`matched_label_counts` checked against both sexes, so male-only,
    female-only and mixed sets of one size always share one diagnosis mix.
    """
    if sex not in (*SEXES, "mixed"):
        raise ValueError(f"sex must be 'male', 'female' or 'mixed'; got {sex!r}")
    pools = _sex_pools(dataset)
    train = dataset.split_indices("train")
    pool = np.sort(np.concatenate(list(pools.values()))) if sex == "mixed" else pools[sex]
    if reference_mix is None:
        counts = matched_label_counts(dataset, size, pools)
    else:
        counts = _check_reference_mix(dataset, reference_mix, size)
        problems = _shortfalls(dataset, size, counts, {"male or female" if sex == "mixed" else sex: pool})
        if problems:
            raise ValueError("; ".join(problems))
    forget = _draw_per_label(dataset, pool, counts, seed)
    if sex == "mixed":
        drawn = dataset.metadata["sex"].to_numpy()[forget]
        what = f"mixed-sex control ({int((drawn == 'male').sum())} male, {int((drawn == 'female').sum())} female)"
    else:
        what = f"{sex}-only"
    mix = _label_mix(dataset, counts)
    return _split(train, forget, f"{what}: {size} of {len(train)} training images; labels {mix} (seed {seed})")


def _check_reference_mix(dataset: ImageDataset, reference_mix: Sequence[int], size: int) -> np.ndarray:
    counts = np.asarray(reference_mix, dtype=np.int64)
    if counts.shape != (dataset.num_classes,) or (counts < 0).any() or counts.sum() != size:
        raise ValueError(
            f"reference_mix must hold {dataset.num_classes} non-negative per-label counts summing to "
            f"size={size}; got {list(reference_mix)}"
        )
    return counts


def sex_forget_sets(dataset: ImageDataset, *, size: int, seed: int) -> dict[str, ForgetSplit]:
    """Male-only, female-only and mixed forget sets of ``size`` with identical label counts."""
    counts = matched_label_counts(dataset, size, _sex_pools(dataset))
    return {s: by_sex(dataset, sex=s, size=size, seed=seed, reference_mix=counts) for s in (*SEXES, "mixed")}


# ---------------------------------------------------------------- by difficulty


def difficulty_scores(final_losses: np.ndarray, correct_per_epoch: np.ndarray) -> pd.DataFrame:
    """Per-training-sample difficulty: final ``loss`` and ``learning_speed`` (high = easy).

    ``final_losses`` is the original model's loss on each training sample (length N, in
    ``split_indices("train")`` order); ``correct_per_epoch`` is bool epochs x N, whether
    the sample was classified correctly after each epoch. Learning speed is its mean.
    """
    losses = np.asarray(final_losses, dtype=float)
    correct = np.asarray(correct_per_epoch)
    if losses.ndim != 1 or correct.ndim != 2 or correct.shape[1] != len(losses) or correct.shape[0] == 0:
        raise ValueError(
            f"need final_losses of length N and correct_per_epoch of shape epochs x N (epochs >= 1); "
            f"got {losses.shape} and {correct.shape}"
        )
    return pd.DataFrame({"loss": losses, "learning_speed": correct.astype(bool).mean(axis=0)})


def by_difficulty(
    dataset: ImageDataset, *, kind: str, scores: pd.DataFrame, size: int, seed: int, score: str = "loss"
) -> ForgetSplit:
    """``size`` training images, the ``kind`` ('easy', 'hard', 'random') ones within each label.

    The per-label counts come from :func:`matched_label_counts`, so easy, hard and random
    sets of one size share one diagnosis mix. ``scores`` has one row per training sample
    in ``split_indices("train")`` order. Ties keep that order (stable sort); the seed
    matters only for 'random'.
    """
    if kind not in DIFFICULTY_KINDS:
        raise ValueError(f"kind must be one of {DIFFICULTY_KINDS}; got {kind!r}")
    train = dataset.split_indices("train")
    values = _score_values(scores, score, len(train))
    counts = matched_label_counts(dataset, size, {"training": train})
    if kind == "random":
        forget = _draw_per_label(dataset, train, counts, seed)
    else:
        # Rank hardest first: high loss, or low learning speed.
        hardness = values if score == "loss" else -values
        labels = dataset.labels[train]
        forget = np.concatenate([_extreme(train, labels == c, hardness, n, kind) for c, n in enumerate(counts) if n])
    mean = values[np.searchsorted(train, forget)].mean()
    return _split(
        train,
        forget,
        f"{kind} by {score}: {size} of {len(train)} training images; labels {_label_mix(dataset, counts)}; "
        f"mean {score} {mean:.3g}" + (f" (seed {seed})" if kind == "random" else ""),
    )


def _extreme(train: np.ndarray, in_label: np.ndarray, hardness: np.ndarray, n: int, kind: str) -> np.ndarray:
    """The ``n`` easiest or hardest training samples of one label."""
    candidates = np.flatnonzero(in_label)
    key = hardness[candidates] if kind == "easy" else -hardness[candidates]
    return train[candidates[np.argsort(key, kind="stable")[:n]]]


def _score_values(scores: pd.DataFrame, score: str, n_train: int) -> np.ndarray:
    if score not in DIFFICULTY_SCORES:
        raise ValueError(f"score must be one of {DIFFICULTY_SCORES}; got {score!r}")
    if score not in scores.columns or len(scores) != n_train:
        raise ValueError(
            f"scores need a {score!r} column and one row per training image ({n_train}); "
            f"got columns {list(scores.columns)} and {len(scores)} rows"
        )
    values = scores[score].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"scores[{score!r}] has {int(np.isnan(values).sum())} missing values")
    return values


def difficulty_forget_sets(
    dataset: ImageDataset, *, scores: pd.DataFrame, size: int, seed: int, score: str = "loss"
) -> dict[str, ForgetSplit]:
    """Easy, hard and random forget sets of ``size`` with identical label counts."""
    return {
        k: by_difficulty(dataset, kind=k, scores=scores, size=size, seed=seed, score=score) for k in DIFFICULTY_KINDS
    }


# ---------------------------------------------------------------- class-wise


def class_wise(dataset: ImageDataset, *, label: int | str, seed: int) -> ForgetSplit:
    """Every training image of one class (``label`` is its index or name).

    ``seed`` is unused (nothing is random) but kept so every scenario has one signature.
    """
    if isinstance(label, str):
        if label not in dataset.class_names:
            raise ValueError(f"unknown class {label!r}; classes are {list(dataset.class_names)}")
        c = dataset.class_names.index(label)
    elif 0 <= int(label) < dataset.num_classes and int(label) == label:
        c = int(label)
    else:
        raise ValueError(
            f"unknown class {label!r}; labels are 0..{dataset.num_classes - 1} ({list(dataset.class_names)})"
        )
    train = dataset.split_indices("train")
    forget = train[dataset.labels[train] == c]
    name = dataset.class_names[c]
    if not len(forget):
        raise ValueError(f"class {name!r} has no training images to forget")
    if len(forget) == len(train):
        raise ValueError(f"class {name!r} is all {len(train)} training images; forgetting it leaves no retain set")
    description = f"class-wise: all {len(forget)} training images of {name!r} ({len(forget)} of {len(train)})"
    return _split(train, forget, description)


# ---------------------------------------------------------------- registry

SCENARIOS: dict[str, Callable[..., ForgetSplit]] = {
    "random": random_fraction,
    "patient": patient_level,
    "sex": by_sex,
    "difficulty": by_difficulty,
    "class": class_wise,
}


def make_scenario(name: str, dataset: ImageDataset, **kwargs) -> ForgetSplit:
    """The forget split of scenario ``name``; ``kwargs`` go to its function."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known scenarios: {', '.join(sorted(SCENARIOS))}")
    return SCENARIOS[name](dataset, **kwargs)
