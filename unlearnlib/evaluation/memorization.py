"""Memorization estimates (Feldman & Zhang, NeurIPS 2020, "What Neural Networks Memorize and Why").

A sample's memorization is how much better models do on it when it is in their training set
than when it is not. ``memorization`` is the paper's definition, from accuracy:

    mem(i) = mean over models trained WITH i of [correct on i] - mean over models trained WITHOUT i of [correct on i],

in [-1, 1] and, with n models per side, a multiple of 1/n. ``memorization_prob`` is the same gap
in p_y(i), the softmax probability of the sample's label: smoother (fewer ties) but not the
paper's estimate, kept as an alternative score. High = the model needs this very sample to get
it right (atypical or mislabeled); near 0 = the rest of the data teaches it (typical, or
duplicated).

:func:`memorization_scores` trains the models; :func:`memorization_from_predictions` is the
per-sample arithmetic alone (pure, no training).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from torch import nn
from tqdm import tqdm

from ..training import Tensors, TrainConfig, evaluate, fit

SEED_TAG = 0x6D656D6F  # "memo": keeps these models' seeds apart from every other seed stream
# What the column ``memorization`` holds; part of the ledger key of the memorization rows, so
# that rows computed under another definition are never read as this one.
DEFINITION = "feldman_zhang_accuracy"


@dataclass(frozen=True, eq=False)
class MemorizationResult:
    """Per-sample scores (length n) and what they were computed from.

    ``memorization``: from accuracy (Feldman & Zhang's estimate, the default score);
    ``memorization_prob``: the same gap in the true-class probability (an alternative);
    ``n_in`` / ``n_out``: how many models were trained with / without each sample;
    ``membership`` (models x n, bool) and ``true_prob``, ``correct`` (models x n): the raw material;
    ``model_seeds``: each model's init and data-order seed; ``seconds``: training and evaluation time."""

    memorization: np.ndarray
    memorization_prob: np.ndarray
    n_in: np.ndarray
    n_out: np.ndarray
    membership: np.ndarray
    true_prob: np.ndarray
    correct: np.ndarray
    model_seeds: tuple[int, ...]
    seconds: float

    def frame(self) -> pd.DataFrame:
        """One row per sample: memorization, memorization_prob, n_in, n_out."""
        return pd.DataFrame({"memorization": self.memorization, "memorization_prob": self.memorization_prob,
                             "n_in": self.n_in, "n_out": self.n_out})


def _check_n_models(n_models: int) -> None:
    if n_models < 2 or n_models % 2:
        raise ValueError(
            f"n_models must be an even number >= 2 (models come in complementary pairs, so every "
            f"sample is in exactly half of them); got {n_models!r}"
        )


def balanced_membership(n_samples: int, n_models: int, *, seed: int) -> np.ndarray:
    """(n_models, n_samples) bool: which samples each model trains on.

    Models come in pairs: model 2p trains on a random half of the samples (size floor(n/2)),
    model 2p + 1 on the other half. So every sample is in exactly n_models / 2 models and out
    of as many, every model sees half the data, and the pairs' splits are independent draws
    from ``np.random.default_rng(seed)``."""
    _check_n_models(n_models)
    if n_samples < 2:
        raise ValueError(f"need at least 2 samples to split in halves; got {n_samples}")
    rng = np.random.default_rng(seed)
    membership = np.zeros((n_models, n_samples), dtype=bool)
    for pair in range(n_models // 2):
        half = rng.permutation(n_samples)[: n_samples // 2]
        membership[2 * pair, half] = True
        membership[2 * pair + 1] = ~membership[2 * pair]
    return membership


def model_seed(seed: int, k: int) -> int:
    """Init and data-order seed of model k: a 32-bit draw from SeedSequence([seed, k, SEED_TAG]),
    so it depends only on (seed, k) and practically never equals an original's or retrain's seed."""
    return int(np.random.SeedSequence([int(seed), int(k), SEED_TAG]).generate_state(1)[0])


def memorization_from_predictions(
    membership: np.ndarray, correct: np.ndarray, true_prob: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(memorization, memorization_prob, n_in, n_out) per sample from M models' predictions.

    ``membership`` (M, n) bool: model m trained on sample i; ``correct`` (M, n) bool: model m's
    prediction of sample i was right (memorization, the paper's estimate, is its mean when in
    minus its mean when out); ``true_prob`` (M, n): model m's probability of sample i's label
    (the same gap gives memorization_prob; omit it and memorization_prob is NaN). Every sample
    must be in at least one model and out of one."""
    membership = np.asarray(membership)
    correct = np.asarray(correct)
    if membership.dtype != bool:
        raise ValueError(f"membership must be a boolean (models, samples) array; got dtype {membership.dtype}")
    if correct.dtype != bool:
        raise ValueError(f"correct must be a boolean (models, samples) array; got dtype {correct.dtype}")
    if membership.ndim != 2 or correct.shape != membership.shape:
        raise ValueError(f"membership and correct must be (models, samples) of one shape; got {membership.shape} and {correct.shape}")
    if true_prob is not None:
        true_prob = np.asarray(true_prob, dtype=np.float64)
        if true_prob.shape != membership.shape:
            raise ValueError(f"true_prob must have the shape of membership {membership.shape}; got {true_prob.shape}")
        if not np.all((true_prob >= 0) & (true_prob <= 1)):
            raise ValueError("true_prob must be probabilities in [0, 1]; got values outside (or NaN)")
    n_in, n_out = membership.sum(axis=0), (~membership).sum(axis=0)
    lacking = np.flatnonzero((n_in == 0) | (n_out == 0))
    if len(lacking):
        raise ValueError(f"samples {lacking[:10].tolist()} are never in (or never out of) a training set; "
                         "each needs both to be scored: use more models or a balanced design")

    def gap(values: np.ndarray) -> np.ndarray:
        return (values * membership).sum(axis=0) / n_in - (values * ~membership).sum(axis=0) / n_out

    prob = np.full(membership.shape[1], np.nan) if true_prob is None else gap(true_prob)
    return gap(correct.astype(np.float64)), prob, n_in, n_out


def memorization_scores(
    data: Tensors,
    *,
    make_model: Callable[[int], nn.Module],
    recipe: TrainConfig,
    n_models: int,
    seed: int,
    progress: bool = False,
) -> MemorizationResult:
    """Feldman & Zhang's memorization of every sample of ``data``, from ``n_models`` models.

    Models train on the halves of :func:`balanced_membership` (``seed``) with ``recipe``; model k
    is ``make_model(model_seed(seed, k))`` and :func:`~unlearnlib.training.fit` uses the same seed
    for its data order. Each model is evaluated on all of ``data``. Cost: n_models trainings on
    half the data (about n_models x half an original's training time). Deviation from the paper,
    which trains thousands of models on random 70 % subsets: with tens of models, complementary
    halves give every sample as many "in" as "out" models, so neither mean rests on a handful."""
    _check_n_models(n_models)
    membership = balanced_membership(len(data), n_models, seed=seed)
    seeds = tuple(model_seed(seed, k) for k in range(n_models))
    labels = data.y.numpy()
    rows = np.arange(len(data))
    true_prob = np.empty((n_models, len(data)))
    correct = np.empty((n_models, len(data)), dtype=bool)
    start = time.perf_counter()
    for k in tqdm(range(n_models), desc="memorization", disable=not progress):
        model = make_model(seeds[k])
        fit(model, data.subset(np.flatnonzero(membership[k])), recipe, seed=seeds[k], progress=False)
        result = evaluate(model, data)
        true_prob[k] = result.probs[rows, labels]
        correct[k] = result.preds == labels
    mem, mem_prob, n_in, n_out = memorization_from_predictions(membership, correct, true_prob)
    return MemorizationResult(mem, mem_prob, n_in, n_out, membership, true_prob, correct, seeds,
                              time.perf_counter() - start)
