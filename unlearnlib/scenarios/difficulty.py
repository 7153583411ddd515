"""Easy, hard and random forget sets by a per-sample difficulty score, with a matched label mix.

Easy and hard sets are seeded draws from strata, not the single easiest or hardest samples:
a fixed extreme set would be the same in every seed, so seed-to-seed intervals would hold
model noise only and say nothing about which easy (hard) samples happened to be asked for.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..constraints import Options, domain, require
from ..data import ImageDataset
from .common import (SIZE, UNIT, ForgetSplit, _largest_fitting_size, draw_per_label, label_mix, matched_label_counts,
                     shortfalls, split_train)
from .groups import check_drawn, group_note, matched_group_draws, train_groups
from .registry import register_scenario

DIFFICULTY_KINDS = ("easy", "hard", "random")
# memorization: Feldman & Zhang's accuracy-based estimate; memorization_prob: the same gap in the
# true-class probability (see unlearnlib.evaluation.memorization).
DIFFICULTY_SCORES = ("memorization", "memorization_prob", "loss", "learning_speed")
# Which end of each score is hard: high memorization and high loss, low learning speed.
_HARD_IS_HIGH = {"memorization": True, "memorization_prob": True, "loss": True, "learning_speed": False}
# The accuracy-based estimate takes few values (multiples of 2 / n_models), so many samples tie
# at a stratum's edge; the probability-based one, when the frame has it, orders them.
_TIE_BREAK = {"memorization": "memorization_prob"}
# Easy (hard) sets are drawn from the least (most) difficult STRATUM_SHARE of each label's units
# (lesions, or images with unit="image"): a fifth keeps the strata apart (easy, middle, hard) and
# still holds several times the study's forget sets (350 of about 7,000 HAM10000 training images).
STRATUM_SHARE = 0.2
KIND = domain(Options(str, DIFFICULTY_KINDS))
SCORE = domain(Options(str, DIFFICULTY_SCORES))


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


@register_scenario(
    "difficulty",
    params={
        "kind": KIND,
        "size": SIZE,
        "score": SCORE,
        "unit": UNIT,
    },
    inputs=("scores",),  # the runner ranks training samples by the scores it computes
)
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
    """``size`` training images drawn (``seed``) from the ``kind`` stratum: 'easy', 'hard' or 'random'.

    Per label, the units (whole groups, or images with ``unit="image"``) are ranked by
    ``score``; the easy stratum is the least difficult :data:`STRATUM_SHARE` of them, the
    hard stratum the most difficult share, and 'random' draws from all of train. (Strata per
    label rather than over all units: a fifth of all units leans to the diagnoses that are
    easy, or hard, as a whole and may not hold the others' matched counts.) Per-label
    counts come from :func:`matched_label_counts`, so easy, hard and random sets of one size
    share one diagnosis mix; a size either stratum cannot serve is refused, naming what the
    stratum holds. ``scores`` has one row per training sample in ``split_indices("train")``
    order and a column named ``score`` (one of ``DIFFICULTY_SCORES``; high memorization or
    loss is hard, high learning speed easy). A group's difficulty is its images' mean score
    and its label its most frequent one; the three kinds are drawn together so that they keep
    one size and mix. Ties keep training (group-id) order, after the probability-based
    memorization where it breaks ties of the accuracy-based one. The three kinds draw with
    independent streams of ``seed``.
    """
    require("kind", kind, KIND)
    require("unit", unit, UNIT)
    train = dataset.split_indices("train")
    values = _score_values(scores, score, len(train))
    sign = 1.0 if _HARD_IS_HIGH[score] else -1.0
    hardness = sign * values
    tie = _tie_values(scores, score, len(train))
    tie_hardness = None if tie is None else sign * tie
    if unit == "image":
        easy, hard = _strata(hardness, tie_hardness, dataset.labels[train], dataset.num_classes)
        pools = {"easy": train[easy], "hard": train[hard], "random": train}
        counts = _stratum_counts(dataset, size, score, "images", pools)
        forget = draw_per_label(dataset, pools[kind], counts, _kind_seed(seed, kind))
        amount = f"{size} of {len(train)} training images"
    else:
        groups = train_groups(dataset)
        group_hardness = np.bincount(groups.codes, weights=hardness) / groups.size
        group_tie = None if tie_hardness is None else np.bincount(groups.codes, weights=tie_hardness) / groups.size
        group_label = np.argmax(groups.label_counts, axis=1)  # ties: the lower label
        easy, hard = _strata(group_hardness, group_tie, group_label, dataset.num_classes)
        pools = {"easy": groups.images(np.flatnonzero(easy)), "hard": groups.images(np.flatnonzero(hard)), "random": train}
        counts = _stratum_counts(dataset, size, score, "groups", pools)
        in_stratum = {"easy": easy, "hard": hard, "random": np.ones(len(easy), dtype=bool)}
        orders = {}
        for k in DIFFICULTY_KINDS:
            order = np.random.default_rng(_kind_seed(seed, k)).permutation(len(group_hardness))
            orders[k] = order[in_stratum[k][order]]
        drawn, counts = matched_group_draws(groups, orders, counts)
        forget = groups.images(drawn[kind])
        check_drawn(forget, len(train), f"a {kind} forget set of {size}", "ask for a larger size or unit='image'")
        amount = group_note(groups, forget, size)
    mean = values[np.searchsorted(train, forget)].mean()
    where = "all of train" if kind == "random" else f"the {kind} stratum ({_stratum_words(kind, score)})"
    return split_train(
        train,
        forget,
        f"{kind} by {score}: {amount} drawn from {where}; labels {label_mix(dataset, counts)}; "
        f"mean {score} {mean:.3g} (seed {seed})",
    )


def _strata(hardness: np.ndarray, tie: np.ndarray | None, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Bool masks over the units: the easy and the hard stratum, :data:`STRATUM_SHARE` of each
    label's units (rounded up, so a label with units has at least one in each stratum)."""
    # lexsort: the last key is primary; position (training or group-id order) breaks what remains.
    position = np.arange(len(hardness))
    keys = [position] + ([] if tie is None else [tie]) + [hardness]
    easiest_first = np.lexsort(keys)
    hardest_first = np.lexsort([position] + ([] if tie is None else [-tie]) + [-hardness])
    easy, hard = np.zeros(len(hardness), dtype=bool), np.zeros(len(hardness), dtype=bool)
    for c in range(num_classes):
        n = int(np.ceil(STRATUM_SHARE * np.count_nonzero(labels == c)))
        easy[easiest_first[labels[easiest_first] == c][:n]] = True
        hard[hardest_first[labels[hardest_first] == c][:n]] = True
    return easy, hard


def _stratum_counts(dataset: ImageDataset, size: int, score: str, units: str, pools: dict[str, np.ndarray]) -> np.ndarray:
    """The matched per-label counts of ``size``, refused (naming what each stratum holds) when
    the easy or the hard stratum cannot serve them."""
    counts = matched_label_counts(dataset, size, {})  # the size check and the training mix
    strata = {k: pools[k] for k in ("easy", "hard")}
    if not shortfalls(dataset, size, counts, strata):
        return counts
    problems = []
    for kind, pool in strata.items():
        have = np.bincount(dataset.labels[pool], minlength=dataset.num_classes)
        for c in np.flatnonzero(counts > have):
            problems.append(f"{counts[c]} {dataset.class_names[c]!r} images, but the {kind} stratum holds {have[c]}")
    fits = _largest_fitting_size(dataset, size, strata)
    raise ValueError(
        f"a difficulty forget set of size={size} cannot be drawn from the strata by {score} (each the "
        f"{STRATUM_SHARE:.0%} least or most difficult {units} of each label): it needs " + "; ".join(problems)
        + f". The easy stratum holds {len(pools['easy'])} and the hard stratum {len(pools['hard'])} training images; "
        + (f"the largest size both can serve is {fits}." if fits else "no size fits both.")
    )


def _stratum_words(kind: str, score: str) -> str:
    end = "least" if kind == "easy" else "most"
    return f"the {STRATUM_SHARE:.0%} {end} difficult of each label by {score}"


def _kind_seed(seed: int, kind: str) -> int:
    """An independent stream per kind, so easy, hard and random draws of one seed are unrelated."""
    return int(np.random.SeedSequence([int(seed), DIFFICULTY_KINDS.index(kind)]).generate_state(1)[0])


def _tie_values(scores: pd.DataFrame, score: str, n_train: int) -> np.ndarray | None:
    column = _TIE_BREAK.get(score)
    if column is None or column not in scores.columns or len(scores) != n_train:
        return None
    values = scores[column].to_numpy(dtype=float)
    return None if np.isnan(values).any() else values


def _score_values(scores: pd.DataFrame, score: str, n_train: int) -> np.ndarray:
    require("score", score, SCORE)
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

