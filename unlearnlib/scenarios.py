"""Forget-set selection: who asks to be forgotten. Every draw is seeded and inside train.

Scenarios: a random fraction of train, whole patients, one sex (with a matched label mix),
easy / hard samples (with a matched label mix), and one whole class. Each returns a
:class:`ForgetSplit` whose forget and retain sets partition the training split.

Whole groups. A patient who withdraws consent withdraws every image of their lesion, so
``random``, ``sex`` and ``difficulty`` draw whole groups (metadata ``group``: a HAM10000
lesion, a patient elsewhere) by default, ``unit="group"``; ``unit="image"`` draws single
images as before. An image without a group id is its own group, so on datasets where every
image is its own group (MedMNIST) the two units draw the same kind of set. Whole groups
meet the requested size as closely as their sizes allow:

- ``random``: groups in a seeded order, each taken if it still fits the requested size,
  then one that overshoots if that lands closer; exact whenever the remaining gap can be
  filled by a group of that size (HAM10000 has thousands of single-image lesions).
- ``sex`` and ``difficulty``: the matched per-label counts are the target and are never
  exceeded. Male-only, female-only and mixed sets (easy, hard and random sets) are drawn
  together and, if one falls short of a label's count, all are redrawn with the counts
  they can all reach, so sets of one request keep one size and one diagnosis mix.

The actual size is ``len(split.forget)`` and is stated in ``split.description``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .data import ImageDataset

# Forget-set sizes of the size curves, as fractions of the training split.
FORGET_SIZE_FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
SEXES = ("male", "female")
DIFFICULTY_KINDS = ("easy", "hard", "random")
DIFFICULTY_SCORES = ("memorization", "loss", "learning_speed")
# Which end of each score is hard: high memorization and high loss, low learning speed.
_HARD_IS_HIGH = {"memorization": True, "loss": True, "learning_speed": False}
UNITS = ("group", "image")


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


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be 'group' (whole patients / lesions) or 'image'; got unit={unit!r}")


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


# ---------------------------------------------------------------- whole groups


@dataclass(frozen=True, eq=False)
class _TrainGroups:
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


def _train_groups(dataset: ImageDataset) -> _TrainGroups:
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
    return _TrainGroups(train, codes, label_counts)


def _fill_groups(order: np.ndarray, counts: np.ndarray, target: np.ndarray, *, closest: bool = False) -> np.ndarray:
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


def _matched_group_draws(
    groups: _TrainGroups, orders: Mapping[str, np.ndarray], target: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One draw of whole groups per named order, all with the same per-label counts.

    Each draw fills ``target`` without exceeding it; while one falls short, every draw is
    redone with the counts all of them reached. Targets only shrink, so this ends.
    """
    while True:
        drawn = {name: _fill_groups(order, groups.label_counts, target) for name, order in orders.items()}
        reached = {name: groups.label_counts[chosen].sum(axis=0) for name, chosen in drawn.items()}
        common = np.minimum.reduce(list(reached.values()))
        if all(np.array_equal(r, common) for r in reached.values()):
            return drawn, common
        target = common


def _check_drawn(forget: np.ndarray, n_train: int, what: str, unit_hint: str) -> None:
    if not len(forget):
        raise ValueError(f"no whole group fits {what}; {unit_hint}")
    if len(forget) >= n_train:
        raise ValueError(f"{what} takes every training group and leaves no retain set")


def _group_note(groups: _TrainGroups, forget: np.ndarray, requested: int) -> str:
    n_groups = len(np.unique(groups.codes[np.isin(groups.train, forget)]))
    return (
        f"{len(forget)} of {len(groups.train)} training images in {n_groups} whole groups (requested {requested})"
    )


# ---------------------------------------------------------------- random and patient-level


def random_fraction(dataset: ImageDataset, *, fraction: float, seed: int, unit: str = "group") -> ForgetSplit:
    """A random ``fraction`` of the training images (at least one image).

    ``unit="group"``: whole groups in a seeded order until the size is met as closely as
    their sizes allow (see the module docstring); ``unit="image"``: a uniform draw of images.
    """
    _check_fraction(fraction)
    _check_unit(unit)
    train = dataset.split_indices("train")
    size = max(1, round(fraction * len(train)))
    if size >= len(train):
        raise ValueError(f"a forget fraction of {fraction} leaves no retain set ({len(train)} training images)")
    if unit == "image":
        rng = np.random.default_rng(seed)
        forget = np.sort(rng.choice(train, size=size, replace=False))
        retain = np.setdiff1d(train, forget)
        return ForgetSplit(forget, retain, f"random {fraction:.0%} of train: {size} of {len(train)} images (seed {seed})")
    groups = _train_groups(dataset)
    order = np.random.default_rng(seed).permutation(len(groups.label_counts))
    chosen = _fill_groups(order, groups.size[:, None], np.array([size]), closest=True)
    forget = groups.images(chosen)
    _check_drawn(forget, len(train), f"a forget fraction of {fraction}", "ask for a larger fraction or unit='image'")
    return _split(
        train,
        forget,
        f"random {fraction:.0%} of train: {_group_note(groups, forget, size)}, "
        f"{len(forget) / len(train):.1%} of train (seed {seed})",
    )


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
    dataset: ImageDataset,
    *,
    sex: str,
    size: int,
    seed: int,
    reference_mix: Sequence[int] | None = None,
    unit: str = "group",
) -> ForgetSplit:
    """``size`` training images of one sex ('male', 'female') or of either ('mixed', a control).

    The per-label counts are ``reference_mix`` (one count per class, summing to ``size``)
    or, by default, :func:`matched_label_counts` checked against both sexes, so male-only,
    female-only and mixed sets of one size always share one diagnosis mix. With
    ``unit="group"`` only groups whose every training image has the requested sex (male
    or female for 'mixed') are drawn, and the three sets are drawn together so that they
    keep one size and mix even where whole groups cannot meet the counts exactly.
    """
    if sex not in (*SEXES, "mixed"):
        raise ValueError(f"sex must be 'male', 'female' or 'mixed'; got {sex!r}")
    _check_unit(unit)
    train = dataset.split_indices("train")
    if unit == "image":
        forget, counts = _sex_images(dataset, sex, size, seed, reference_mix)
        amount = f"{size} of {len(train)} training images"
    else:
        groups = _train_groups(dataset)
        forget, counts = _sex_groups(dataset, groups, sex, size, seed, reference_mix)
        amount = _group_note(groups, forget, size)
    if sex == "mixed":
        drawn = dataset.metadata["sex"].to_numpy()[forget]
        what = f"mixed-sex control ({int((drawn == 'male').sum())} male, {int((drawn == 'female').sum())} female)"
    else:
        what = f"{sex}-only"
    return _split(train, forget, f"{what}: {amount}; labels {_label_mix(dataset, counts)} (seed {seed})")


def _sex_images(
    dataset: ImageDataset, sex: str, size: int, seed: int, reference_mix: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Single images: the forget indices and their per-label counts."""
    pools = _sex_pools(dataset)
    pool = np.sort(np.concatenate(list(pools.values()))) if sex == "mixed" else pools[sex]
    if reference_mix is None:
        counts = matched_label_counts(dataset, size, pools)
    else:
        counts = _check_reference_mix(dataset, reference_mix, size)
        problems = _shortfalls(dataset, size, counts, {"male or female" if sex == "mixed" else sex: pool})
        if problems:
            raise ValueError("; ".join(problems))
    return _draw_per_label(dataset, pool, counts, seed), counts


def _sex_groups(
    dataset: ImageDataset, groups: _TrainGroups, sex: str, size: int, seed: int, reference_mix: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Whole groups: the forget indices and their per-label counts (shared by all three sets)."""
    _sex_pools(dataset)  # refuses a dataset without sex metadata
    sex_of = dataset.metadata["sex"].to_numpy()[groups.train]
    # A group is forgotten whole, so one with an image of another or unknown sex is in no one-sex set.
    eligible = {s: groups.eligible(sex_of == s) for s in SEXES}
    eligible["mixed"] = groups.eligible(np.isin(sex_of, SEXES))
    pools = {s: groups.images(np.flatnonzero(eligible[s])) for s in eligible}
    if reference_mix is None:
        counts = matched_label_counts(dataset, size, {s: pools[s] for s in SEXES})
    else:
        counts = _check_reference_mix(dataset, reference_mix, size)
        problems = _shortfalls(dataset, size, counts, {"male or female" if sex == "mixed" else sex: pools[sex]})
        if problems:
            raise ValueError("; ".join(problems))
    order = np.random.default_rng(seed).permutation(len(groups.label_counts))
    drawn, reached = _matched_group_draws(groups, {s: order[eligible[s][order]] for s in eligible}, counts)
    forget = groups.images(drawn[sex])
    _check_drawn(forget, len(groups.train), f"a {sex} forget set of {size}", "ask for a larger size or unit='image'")
    return forget, reached


def _check_reference_mix(dataset: ImageDataset, reference_mix: Sequence[int], size: int) -> np.ndarray:
    counts = np.asarray(reference_mix, dtype=np.int64)
    if counts.shape != (dataset.num_classes,) or (counts < 0).any() or counts.sum() != size:
        raise ValueError(
            f"reference_mix must hold {dataset.num_classes} non-negative per-label counts summing to "
            f"size={size}; got {list(reference_mix)}"
        )
    return counts


def sex_forget_sets(dataset: ImageDataset, *, size: int, seed: int, unit: str = "group") -> dict[str, ForgetSplit]:
    """Male-only, female-only and mixed forget sets of ``size`` with identical label counts."""
    _check_unit(unit)
    if unit == "group":  # by_sex draws the three together already
        return {s: by_sex(dataset, sex=s, size=size, seed=seed, unit=unit) for s in (*SEXES, "mixed")}
    counts = matched_label_counts(dataset, size, _sex_pools(dataset))
    return {s: by_sex(dataset, sex=s, size=size, seed=seed, reference_mix=counts, unit=unit) for s in (*SEXES, "mixed")}


# ---------------------------------------------------------------- by difficulty


def difficulty_scores(final_losses: np.ndarray, correct_per_epoch: np.ndarray) -> pd.DataFrame:
    """Per-training-sample difficulty: final ``loss`` and ``learning_speed`` (high = easy).

    The default score of :func:`by_difficulty`, ``memorization``, is not computed here:
    the caller adds it as a column of the same frame.

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
    dataset: ImageDataset,
    *,
    kind: str,
    scores: pd.DataFrame,
    size: int,
    seed: int,
    score: str = "memorization",
    unit: str = "group",
) -> ForgetSplit:
    """``size`` training images, the ``kind`` ('easy', 'hard', 'random') ones within each label.

    The per-label counts come from :func:`matched_label_counts`, so easy, hard and random
    sets of one size share one diagnosis mix. ``scores`` has one row per training sample
    in ``split_indices("train")`` order and a column named ``score`` (one of
    ``DIFFICULTY_SCORES``; high memorization or loss is hard, high learning speed easy).
    With ``unit="group"`` a group's difficulty is its images' mean score, and the three
    kinds are drawn together so that they keep one size and mix. Ties keep training order
    (images) or group-id order (groups); the seed matters only for 'random'.
    """
    if kind not in DIFFICULTY_KINDS:
        raise ValueError(f"kind must be one of {DIFFICULTY_KINDS}; got {kind!r}")
    _check_unit(unit)
    train = dataset.split_indices("train")
    values = _score_values(scores, score, len(train))
    hardness = values if _HARD_IS_HIGH[score] else -values
    counts = matched_label_counts(dataset, size, {"training": train})
    if unit == "image":
        if kind == "random":
            forget = _draw_per_label(dataset, train, counts, seed)
        else:
            labels = dataset.labels[train]
            forget = np.concatenate([_extreme(train, labels == c, hardness, n, kind) for c, n in enumerate(counts) if n])
        amount = f"{size} of {len(train)} training images"
    else:
        groups = _train_groups(dataset)
        group_hardness = np.bincount(groups.codes, weights=hardness) / groups.size
        orders = {
            "easy": np.argsort(group_hardness, kind="stable"),
            "hard": np.argsort(-group_hardness, kind="stable"),
            "random": np.random.default_rng(seed).permutation(len(group_hardness)),
        }
        drawn, counts = _matched_group_draws(groups, orders, counts)
        forget = groups.images(drawn[kind])
        _check_drawn(forget, len(train), f"a {kind} forget set of {size}", "ask for a larger size or unit='image'")
        amount = _group_note(groups, forget, size)
    mean = values[np.searchsorted(train, forget)].mean()
    return _split(
        train,
        forget,
        f"{kind} by {score}: {amount}; labels {_label_mix(dataset, counts)}; "
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
    if score not in scores.columns:
        raise ValueError(
            f"scores have no {score!r} column (columns: {list(scores.columns)}); add one, or pass score= "
            f"one of the columns present among {DIFFICULTY_SCORES}"
        )
    if len(scores) != n_train:
        raise ValueError(f"scores need one row per training image ({n_train}); got {len(scores)} rows")
    values = scores[score].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"scores[{score!r}] has {int(np.isnan(values).sum())} missing values")
    return values


def difficulty_forget_sets(
    dataset: ImageDataset,
    *,
    scores: pd.DataFrame,
    size: int,
    seed: int,
    score: str = "memorization",
    unit: str = "group",
) -> dict[str, ForgetSplit]:
    """Easy, hard and random forget sets of ``size`` with identical label counts."""
    return {
        k: by_difficulty(dataset, kind=k, scores=scores, size=size, seed=seed, score=score, unit=unit)
        for k in DIFFICULTY_KINDS
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


# ---------------------------------------------------------------- registry and declarations

SCENARIOS: dict[str, Callable[..., ForgetSplit]] = {
    "random": random_fraction,
    "patient": patient_level,
    "sex": by_sex,
    "difficulty": by_difficulty,
    "class": class_wise,
}


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()  # the default of a parameter that must be given


@dataclass(frozen=True)
class Param:
    """A scenario parameter a grid may set: its types, allowed values and default.

    ``low`` / ``high`` bound numbers (``open``: strictly); ``choices`` lists the allowed
    values. Like scikit-learn's parameter constraints, checked before any data is loaded;
    what depends on the data (a size below the training split's) is checked by the scenario.
    """

    name: str
    types: tuple[type, ...]
    default: Any = REQUIRED
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    open: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def allowed(self) -> str:
        """What is allowed, in words."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        number = "a number" if float in self.types else "an integer" if int in self.types else ""
        if number and self.low is not None and self.high is not None:
            number += f" in {'(' if self.open else '['}{self.low}, {self.high}{')' if self.open else ']'}"
        elif number and self.low is not None:
            number += f" {'>' if self.open else '>='} {self.low}"
        return " or ".join(filter(None, (number, "a name" if str in self.types else "")))

    def problem(self, value: Any) -> str | None:
        """None if ``value`` is allowed, else what is wrong with it."""
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        type_ok = any(
            numeric if t is float else (numeric and isinstance(value, int)) if t is int else isinstance(value, t)
            for t in self.types
        )
        ok = type_ok and (self.choices is None or value in self.choices)
        if ok and numeric and self.low is not None:
            ok = value > self.low if self.open else value >= self.low
        if ok and numeric and self.high is not None:
            ok = value < self.high if self.open else value <= self.high
        return None if ok else f"{self.name}={value!r} is not allowed; {self.name} must be {self.allowed()}"


_UNIT = Param("unit", (str,), "group", choices=UNITS)
_SIZE = Param("size", (int,), low=1)
_FRACTION = Param("fraction", (float,), low=0, high=1, open=True)

# What a grid may pass to each scenario. The runner supplies ``seed`` (and, for
# difficulty, ``scores``); ``by_sex``'s ``reference_mix`` is for Python callers only.
SCENARIO_PARAMETERS: dict[str, tuple[Param, ...]] = {
    "random": (_FRACTION, _UNIT),
    "patient": (_FRACTION,),
    "sex": (Param("sex", (str,), choices=(*SEXES, "mixed")), _SIZE, _UNIT),
    "difficulty": (
        Param("kind", (str,), choices=DIFFICULTY_KINDS),
        _SIZE,
        Param("score", (str,), "memorization", choices=DIFFICULTY_SCORES),
        _UNIT,
    ),
    "class": (Param("label", (int, str), low=0),),
}
_SUPPLIED = ("seed", "scores", "reference_mix")  # passed by the runner or by Python callers


def scenario_problems(name: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem with scenario ``name`` and its grid ``params``, as messages (none: valid)."""
    if name not in SCENARIO_PARAMETERS:
        return [f"unknown scenario {name!r}; known scenarios: {', '.join(sorted(SCENARIO_PARAMETERS))}"]
    declared = {p.name: p for p in SCENARIO_PARAMETERS[name]}
    problems = []
    for key, value in params.items():
        if key not in declared:
            hint = " (the seed comes from the grid's seeds)" if key == "seed" else ""
            problems.append(
                f"unknown parameter {key!r} for scenario {name!r}{hint}; its parameters are {', '.join(declared)}"
            )
        elif (problem := declared[key].problem(value)) is not None:
            problems.append(f"scenario {name!r}: {problem}")
    problems += [
        f"scenario {name!r} needs the parameter {p.name!r} ({p.allowed()})"
        for p in declared.values() if p.required and p.name not in params
    ]
    return problems


def make_scenario(name: str, dataset: ImageDataset, **kwargs) -> ForgetSplit:
    """The forget split of scenario ``name``; ``kwargs`` go to its function."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known scenarios: {', '.join(sorted(SCENARIOS))}")
    declared = [p.name for p in SCENARIO_PARAMETERS[name]]
    unknown = sorted(set(kwargs) - set(declared) - set(_SUPPLIED))
    if unknown:  # a clear error rather than the function's TypeError
        raise ValueError(f"unknown parameter(s) {unknown} for scenario {name!r}; its parameters are {', '.join(declared)}")
    return SCENARIOS[name](dataset, **kwargs)


# What each scenario needs from the runner beyond the dataset and seed: the difficulty
# scenario ranks training samples by the per-sample scores the runner computes.
SCENARIO_INPUTS: dict[str, tuple[str, ...]] = {"difficulty": ("scores",)}


def scenario_inputs(name: str) -> tuple[str, ...]:
    """The inputs scenario ``name`` needs the runner to supply (e.g. ``("scores",)``)."""
    return SCENARIO_INPUTS.get(name, ())
