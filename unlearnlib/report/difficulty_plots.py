"""Notebook 05's figures of the difficulty scores themselves: their distributions over the
training images, and the easiest and hardest images by a score."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .plots import COLUMN_WIDTH_IN, OKABE_ITO

SCORES = ("memorization", "memorization_prob", "loss", "learning_speed")


def score_histograms(scores: pd.DataFrame, *, memorization_models: int):
    """Three histograms over the training images: memorization (one bar per value it can take:
    it moves in steps of 2 / ``memorization_models``), the original's final training loss (log
    count axis) and the learning speed. ``scores``: ``originals.difficulty_table``."""
    fig, axes = plt.subplots(1, 3, figsize=(2 * COLUMN_WIDTH_IN, 2.0))
    step = 2 / memorization_models
    axes[0].hist(scores["memorization"], bins=np.arange(-1 - step / 2, 1 + step, step), color=OKABE_ITO[3])
    axes[0].set_xlabel("memorization (share correct, in - out)")
    axes[1].hist(scores["loss"], bins=50, color=OKABE_ITO[5])
    axes[1].set_yscale("log")
    axes[1].set_xlabel("final training loss of the original")
    axes[2].hist(scores["learning_speed"], bins=20, color=OKABE_ITO[6])
    axes[2].set_xlabel("learning speed (share of epochs correct)")
    axes[0].set_ylabel("training images (count)")
    fig.tight_layout()
    return fig


def score_correlations(scores: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlations between the difficulty scores, one row per score."""
    return scores[list(SCORES)].corr(method="spearman").reset_index().rename(columns={"index": "score"})


def score_ties(scores: pd.DataFrame) -> str:
    """Why the loss and the learning speed say little for a memorizing original, in numbers."""
    return (f"final loss: median {scores['loss'].median():.2g}, share below 0.01: {(scores['loss'] < 0.01).mean():.1%}; "
            f"learning speed at its maximum: {(scores['learning_speed'] == scores['learning_speed'].max()).mean():.1%}")


def extremes(scores: pd.DataFrame, score: str, count: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in the training split) of the ``count`` easiest and hardest images by ``score``;
    the accuracy-based memorization ties often, so its ties are ordered by ``memorization_prob``
    (as the scenario does). A high learning speed means easy."""
    sign = -1 if score == "learning_speed" else 1
    tie = scores["memorization_prob"] if score == "memorization" else scores[score]
    order = np.lexsort((sign * tie.to_numpy(), sign * scores[score].to_numpy()))
    return order[:count], order[-count:]


def easiest_hardest_figure(data, scores: pd.DataFrame, score: str, count: int = 8):
    """The ``count`` easiest (top row) and hardest (bottom row) training images of ``data``
    (``originals.StudyData``) by ``score``, titled with their class."""
    train = data.split("train")
    fig, axes = plt.subplots(2, count, figsize=(5, 1.6))
    for row, (label, picks) in enumerate(zip(("easiest", "hardest"), extremes(scores, score, count))):
        for ax, i in zip(axes[row], picks):
            image = data.dataset.images[train[i]].transpose(1, 2, 0)
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
            ax.set_title(data.dataset.class_names[data.dataset.labels[train[i]]][:8], fontsize=5)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(label, fontsize=6)
    return fig
