"""Pure metric functions: arrays in, numbers out.

Utility, fairness and cost metrics; the membership-inference attacks and the forgetting-quality
score are in :mod:`unlearnlib.attacks`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, roc_auc_score


@dataclass(frozen=True)
class Metric:
    """A result column, declared once: the tables, plots and reports read it from ``METRICS``."""

    name: str
    label: str  # axis label, with its unit
    higher_is_better: bool | None  # None: closeness to the retrained model is what counts
    in_gap: bool = False  # enters the average gap to retrain (as in SalUn)
    main: bool = False  # a column of the main result tables (report.MAIN_METRICS)
    in_run_summary: bool = False  # printed by `python -m unlearnlib run`


METRICS: tuple[Metric, ...] = (
    Metric("retain_acc", "retain accuracy (fraction)", True, in_gap=True, main=True, in_run_summary=True),
    Metric("forget_acc", "forget accuracy (fraction)", None, in_gap=True, main=True, in_run_summary=True),
    Metric("val_acc", "validation accuracy (fraction)", True),
    Metric("test_acc", "test accuracy (fraction)", True, in_gap=True, main=True, in_run_summary=True),
    Metric("mia_efficacy", "MIA-efficacy (fraction)", None, in_gap=True, main=True, in_run_summary=True),
    Metric("loss_attack", "loss attack (accuracy)", None, main=True),
    Metric("avg_gap", "average gap to retrain", False, main=True, in_run_summary=True),
    Metric("seconds", "wall time (s)", False, main=True, in_run_summary=True),
    Metric("rte", "run-time efficiency (x)", True, main=True),
)

# Derived, in table order; the names importers use.
GAP_METRICS = tuple(m.name for m in METRICS if m.in_gap)
MAIN_METRICS = tuple(m.name for m in METRICS if m.main)
RUN_SUMMARY_METRICS = tuple(m.name for m in METRICS if m.in_run_summary)
METRIC_LABELS = {m.name: m.label for m in METRICS}


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


def _is_missing(value) -> bool:
    """None, NaN and pandas' NA count as a missing group."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like values are not a group label
        return False


def group_accuracies(
    labels: np.ndarray, preds: np.ndarray, groups: Sequence, values: Sequence | None = None
) -> dict[str, float]:
    """Accuracy and balanced accuracy within each group (e.g. sex), for the fairness analysis.

    Returns ``{f"{g}_acc": ..., f"{g}_bacc": ...}`` for each group value ``g``: by default the
    distinct non-missing values of ``groups`` (sorted); pass ``values`` (e.g. ``("male",
    "female")``) to always report the same keys. Samples whose group is missing (None/NaN) are
    skipped; a group with no samples gives NaN, not an error."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    groups = np.asarray(groups, dtype=object)
    if not (len(labels) == len(preds) == len(groups)):
        raise ValueError(
            f"labels, preds and groups must have the same length; got {len(labels)}, {len(preds)} and {len(groups)}"
        )
    present = np.array([not _is_missing(g) for g in groups], dtype=bool)
    if values is None:
        values = sorted({g for g in groups[present]}, key=str)
    out: dict[str, float] = {}
    for value in values:
        mask = present & np.array([g == value for g in groups], dtype=bool)
        out[f"{value}_acc"] = accuracy(labels[mask], preds[mask])
        out[f"{value}_bacc"] = balanced_accuracy(labels[mask], preds[mask])
    return out


def run_time_efficiency(retrain_seconds: float, method_seconds: float) -> float:
    """Run-time efficiency (Nasirigerdeh et al. 2024): RTE = t_retrain / t_method.

    Above 1 the method is faster than retraining from scratch."""
    if not np.isfinite(method_seconds) or method_seconds <= 0:
        raise ValueError(f"method_seconds must be a positive, finite time; got {method_seconds!r}")
    if not np.isfinite(retrain_seconds) or retrain_seconds < 0:
        raise ValueError(f"retrain_seconds must be a non-negative, finite time; got {retrain_seconds!r}")
    return float(retrain_seconds / method_seconds)


def average_gap(method: Mapping[str, float], retrain: Mapping[str, float], keys: Sequence[str]) -> float:
    """Average gap to the retrained model (Nasirigerdeh et al. 2024; "Avg. Gap" in SalUn):
    mean over ``keys`` of |method[k] - retrain[k]|. NaN values propagate."""
    keys = list(keys)
    if not keys:
        raise ValueError("keys is empty; name the metrics to compare, e.g. ['retain_acc', 'forget_acc', 'test_acc']")
    missing = [k for k in keys if k not in method or k not in retrain]
    if missing:
        raise KeyError(
            f"metrics {missing} missing from the method or the retrain results; both have to contain all of {keys}"
        )
    return float(np.mean([abs(float(method[k]) - float(retrain[k])) for k in keys]))


def membership_auc(member_losses: np.ndarray, nonmember_losses: np.ndarray) -> float:
    """Loss-threshold membership-inference AUC (Yeom et al. 2018): how well a per-sample loss
    tells training members (low loss) from held-out samples. 0.5 is chance; a model that
    memorizes its training set scores well above it."""
    member_losses, nonmember_losses = np.asarray(member_losses, float), np.asarray(nonmember_losses, float)
    if len(member_losses) == 0 or len(nonmember_losses) == 0:
        raise ValueError(f"need members and non-members; got {len(member_losses)} and {len(nonmember_losses)}")
    truth = np.r_[np.ones(len(member_losses)), np.zeros(len(nonmember_losses))]
    return float(roc_auc_score(truth, -np.r_[member_losses, nonmember_losses]))
