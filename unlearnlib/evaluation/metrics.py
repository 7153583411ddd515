"""The study's metrics, each declared once with its computation, and the pure functions they use.

A metric is one :class:`Metric` in :data:`METRICS`: its column name, its label, whether it enters
the average gap to retrain, and ``compute``, the function that computes it from a model's
:class:`Predictions` (its per-sample evaluations on retain, forget, validation and test).
``evaluation.model_metrics`` computes every declared metric of a model by iterating over
:data:`METRICS`; the runner adds each one's retrained value and gap (``retrain_<name>``,
``gap_<name>``); the tables, plots and reports read the names and labels from here
(:data:`GAP_METRICS`, :data:`MAIN_METRICS`, :data:`METRIC_LABELS`). The derived metrics
(average gap, wall time, run-time efficiency) declare no ``compute``: the runner makes them from
the row.

**Adding a metric recomputes only what holds it.** Declare it with a ``version`` (``"1"``; bump
it when its computation changes)::

    Metric("test_brier", "test Brier score", False, compute=lambda p: brier(p.splits["test"]), version="1")

Keys hash specs, never metrics, so no row is re-keyed. The metrics of the committed rows
(``version=""``) are covered by ``specs.PIPELINE_VERSION``, as before; a versioned metric adds
``+<name><version>`` to the code version of the experiment rows, the only rows that hold a
model's metrics (``specs.metrics_tag``). Those rows are recomputed, with the new
column, and nothing else: originals, tuning, forgetting-quality, relearning, memorization and
per-sample rows keep their versions. ``rows`` narrows it further to the experiment rows whose
readers need it (e.g. ``rows=lambda spec: spec.scenario == "sex"``); decide by the forget set
(dataset, scenario, seed), which a method's row shares with the retrain row it is compared with.
A versioned metric may not enter the average gap (``in_gap``): that would change a committed
column of every row, which is a bump of ``PIPELINE_VERSION``.

The membership-inference attacks and the forgetting-quality score are in
:mod:`unlearnlib.evaluation.attacks`."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from .attacks import MIN_LOSS_ATTACK_SAMPLES, loss_attack, mia_efficacy


@dataclass(frozen=True)
class Predictions:
    """What one model did, the input of every metric's ``compute``: ``splits`` maps "retain",
    "forget", "val" and "test" to per-sample evaluations (``labels``, ``preds``, ``probs``,
    ``logits``, ``losses``: :class:`unlearnlib.training.Evaluation`); ``attributes`` maps a
    recorded attribute ("sex") to its values on each split, and lacks one the dataset does not
    record; ``seed`` seeds every random choice (the attacks' folds)."""

    splits: Mapping[str, Any]
    attributes: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Metric:
    """A result column, declared once: the tables, plots and reports read it from ``METRICS``,
    ``evaluation.model_metrics`` computes it with ``compute`` (None: derived by the runner from
    the row). ``compute`` returns None where the metric does not apply (no column): the
    per-sex accuracies on a dataset that records no sex."""

    name: str
    label: str  # axis label, with its unit
    higher_is_better: bool | None  # None: closeness to the retrained model is what counts
    in_gap: bool = False  # enters the average gap to retrain (as in SalUn)
    main: bool = False  # a column of the main result tables (report.MAIN_METRICS)
    in_run_summary: bool = False  # printed by `python -m unlearnlib run`
    compute: Callable[[Predictions], float | None] | None = field(default=None, compare=False)
    listed: bool = True  # named in the figures and the report (METRIC_LABELS); False: a column of the rows only
    version: str = ""  # "": covered by specs.PIPELINE_VERSION (the committed rows'); else its own version
    rows: Callable[[Any], bool] | None = field(default=None, compare=False)  # the experiment specs that hold it (None: all)


def _split(name: str, score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[Predictions], float]:
    return lambda p: score(p.splits[name].labels, p.splits[name].preds)


def _group(name: str, value: str, statistic: str) -> Callable[[Predictions], float | None]:
    """Accuracy or balanced accuracy (``statistic``) among the ``name`` split's images of sex ``value``."""
    def compute(p: Predictions) -> float | None:
        if "sex" not in p.attributes:
            return None
        result = p.splits[name]
        return group_accuracies(result.labels, result.preds, p.attributes["sex"][name], values=(value,))[f"{value}_{statistic}"]

    return compute


def _mia_efficacy(p: Predictions) -> float:
    retain, test, forget = p.splits["retain"], p.splits["test"], p.splits["forget"]
    return mia_efficacy(retain.logits, retain.labels, test.logits, test.labels, forget.logits, forget.labels, seed=p.seed)


def _loss_attack(p: Predictions) -> float:
    forget, test = p.splits["forget"], p.splits["test"]
    enough = len(forget.losses) >= MIN_LOSS_ATTACK_SAMPLES  # a smaller forget set has no loss attack
    return loss_attack(forget.losses, test.losses, seed=p.seed) if enough else float("nan")


def _split_metrics() -> tuple[Metric, ...]:
    """Accuracy (listed: a column of the tables) and balanced accuracy of each split; test AUC."""
    names = {"retain": "retain", "forget": "forget", "val": "validation", "test": "test"}
    made = []
    for split, words in names.items():
        shown = split in ("retain", "forget", "test")
        made.append(Metric(f"{split}_acc", f"{words} accuracy (fraction)", None if split == "forget" else True, in_gap=shown,
                           main=shown, in_run_summary=shown, compute=_split(split, lambda y, yhat: accuracy(y, yhat))))
        made.append(Metric(f"{split}_bacc", f"{words} balanced accuracy (fraction)", None if split == "forget" else True,
                           compute=_split(split, lambda y, yhat: balanced_accuracy(y, yhat)), listed=False))
    made.append(Metric("test_auc", "test macro AUC", True, listed=False,
                       compute=lambda p: macro_auc(p.splits["test"].labels, p.splits["test"].probs)))
    return tuple(made)


def _sex_metrics() -> tuple[Metric, ...]:
    """Accuracy and balanced accuracy per sex on forget and test, where the dataset records sex."""
    return tuple(Metric(f"{split}_{sex}_{statistic}", f"{split} {'balanced ' if statistic == 'bacc' else ''}accuracy, {sex} (fraction)",
                        None if split == "forget" else True, compute=_group(split, sex, statistic), listed=False)
                 for split in ("forget", "test") for sex in ("male", "female") for statistic in ("acc", "bacc"))


METRICS: tuple[Metric, ...] = (
    *_split_metrics(),
    *_sex_metrics(),
    Metric("mia_efficacy", "MIA-efficacy (fraction)", None, in_gap=True, main=True, in_run_summary=True, compute=_mia_efficacy),
    Metric("loss_attack", "loss attack (accuracy)", None, main=True, compute=_loss_attack),
    Metric("test_classes_predicted", "classes predicted on test", True, listed=False,
           compute=lambda p: int(len(np.unique(p.splits["test"].preds)))),  # 1: the model collapsed
    Metric("avg_gap", "average gap to retrain", False, main=True, in_run_summary=True),
    Metric("seconds", "wall time (s)", False, main=True, in_run_summary=True),
    Metric("rte", "run-time efficiency (x)", True, main=True),
)

# Derived, in table order; the names importers use.
GAP_METRICS = tuple(m.name for m in METRICS if m.in_gap)
MAIN_METRICS = tuple(m.name for m in METRICS if m.main)
RUN_SUMMARY_METRICS = tuple(m.name for m in METRICS if m.in_run_summary)
METRIC_LABELS = {m.name: m.label for m in METRICS if m.listed}


def check_declarations(metrics: Sequence[Metric]) -> None:
    """Names are unique, and no versioned metric enters the average gap (see the module docstring)."""
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names must be unique; repeated: {sorted({n for n in names if names.count(n) > 1})}")
    for m in metrics:
        if m.version and m.in_gap:
            raise ValueError(f"metric {m.name!r} has its own version and enters the average gap: a new gap metric changes "
                             "avg_gap of every row (bump specs.PIPELINE_VERSION instead)")


check_declarations(METRICS)


def compute_metrics(predictions: Predictions, metrics: Sequence[Metric] | None = None) -> dict[str, float]:
    """Every declared metric of one model that has a ``compute`` and applies, in declaration order."""
    row: dict[str, float] = {}
    for metric in METRICS if metrics is None else metrics:
        if metric.compute is not None and (value := metric.compute(predictions)) is not None:
            row[metric.name] = value
    return row


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
