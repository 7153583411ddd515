"""Pure metric functions: arrays in, numbers out."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score


def accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    labels, preds = np.asarray(labels), np.asarray(preds)
    return float((labels == preds).mean()) if len(labels) else float("nan")


def balanced_accuracy(labels: np.ndarray, preds: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``labels``."""
    if len(labels) == 0:
        return float("nan")
    return float(balanced_accuracy_score(labels, preds))


def macro_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """One-vs-rest ROC AUC averaged over classes (plain AUC for two classes).

    NaN when fewer than two classes are present, where AUC is undefined."""
    labels = np.asarray(labels)
    present = np.unique(labels)
    if len(present) < 2:
        return float("nan")
    if probs.shape[1] == 2:
        return float(roc_auc_score(labels, probs[:, 1]))
    if len(present) < probs.shape[1]:  # score only the classes that occur
        probs = probs[:, present] / probs[:, present].sum(axis=1, keepdims=True)
    return float(roc_auc_score(labels, probs, multi_class="ovr", average="macro", labels=present))
