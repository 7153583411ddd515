"""Easy, hard and random forget sets by a per-sample difficulty score, with a matched label mix."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..constraints import Options, domain, require
from ..data import ImageDataset
from .common import SIZE, UNIT, ForgetSplit, draw_per_label, label_mix, matched_label_counts, split_train
from .groups import check_drawn, group_note, matched_group_draws, train_groups
from .registry import register_scenario

DIFFICULTY_KINDS = ("easy", "hard", "random")
DIFFICULTY_SCORES = ("memorization", "loss", "learning_speed")
# Which end of each score is hard: high memorization and high loss, low learning speed.
_HARD_IS_HIGH = {"memorization": True, "loss": True, "learning_speed": False}
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
    """``size`` training images, the ``kind`` ('easy', 'hard', 'random') ones within each label.

    The per-label counts come from :func:`matched_label_counts`, so easy, hard and random
    sets of one size share one diagnosis mix. ``scores`` has one row per training sample
    in ``split_indices("train")`` order and a column named ``score`` (one of
    ``DIFFICULTY_SCORES``; high memorization or loss is hard, high learning speed easy).
    With ``unit="group"`` a group's difficulty is its images' mean score, and the three
    kinds are drawn together so that they keep one size and mix. Ties keep training order
    (images) or group-id order (groups); the seed matters only for 'random'.
    """
    require("kind", kind, KIND)
    require("unit", unit, UNIT)
    train = dataset.split_indices("train")
    values = _score_values(scores, score, len(train))
    hardness = values if _HARD_IS_HIGH[score] else -values
    counts = matched_label_counts(dataset, size, {"training": train})
    if unit == "image":
        if kind == "random":
            forget = draw_per_label(dataset, train, counts, seed)
        else:
            labels = dataset.labels[train]
            forget = np.concatenate([_extreme(train, labels == c, hardness, n, kind) for c, n in enumerate(counts) if n])
        amount = f"{size} of {len(train)} training images"
    else:
        groups = train_groups(dataset)
        group_hardness = np.bincount(groups.codes, weights=hardness) / groups.size
        orders = {
            "easy": np.argsort(group_hardness, kind="stable"),
            "hard": np.argsort(-group_hardness, kind="stable"),
            "random": np.random.default_rng(seed).permutation(len(group_hardness)),
        }
        drawn, counts = matched_group_draws(groups, orders, counts)
        forget = groups.images(drawn[kind])
        check_drawn(forget, len(train), f"a {kind} forget set of {size}", "ask for a larger size or unit='image'")
        amount = group_note(groups, forget, size)
    mean = values[np.searchsorted(train, forget)].mean()
    return split_train(
        train,
        forget,
        f"{kind} by {score}: {amount}; labels {label_mix(dataset, counts)}; "
        f"mean {score} {mean:.3g}" + (f" (seed {seed})" if kind == "random" else ""),
    )


def _extreme(train: np.ndarray, in_label: np.ndarray, hardness: np.ndarray, n: int, kind: str) -> np.ndarray:
    """The ``n`` easiest or hardest training samples of one label."""
    candidates = np.flatnonzero(in_label)
    key = hardness[candidates] if kind == "easy" else -hardness[candidates]
    return train[candidates[np.argsort(key, kind="stable")[:n]]]


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

