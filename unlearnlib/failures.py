"""Damage is a result, never a credit: the one rule for a failed run, and the average gap
over balanced accuracies, which shows damage to the minority classes.

A model that predicts the largest class everywhere loses little plain accuracy against a
weak retrained model (on HAM10000 the majority class alone scores 0.669 test accuracy), so
the average gap over plain accuracies can prefer a broken model to an untouched one. A run
is therefore checked against two floors, both read from its own ledger row:

- its test accuracy is at most :data:`MAJORITY_MARGIN` above the majority-class rate of the
  dataset's test split (it classifies no better than always answering the largest class), or
- its test balanced accuracy is more than :data:`BACC_DROP` below that of the same seed's
  retrained model (it gave up the minority classes that retraining keeps).

The retrained and original models are the references, not unlearning runs; the rule applies
to them too and, on the committed ledger, passes every one of them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

MAJORITY_MARGIN = 0.01  # test accuracy this close above the majority-class rate (or below it): a collapsed model
BACC_DROP = 0.10  # test balanced accuracy this far below the same seed's retrain: the minority classes were given up
BALANCED_GAP_METRICS = ("retain_bacc", "forget_bacc", "test_bacc", "mia_efficacy")  # avg_gap_bacc averages these gaps

RULE = (f"a run fails when its test accuracy is at most {MAJORITY_MARGIN} above the majority-class rate of the test split, "
        f"or its test balanced accuracy is more than {BACC_DROP} below the same seed's retrain")


def fails(*, acc, bacc, majority_rate, reference_bacc):
    """The rule itself, on numbers or arrays of one split: accuracy at most :data:`MAJORITY_MARGIN`
    above that split's majority-class rate, or balanced accuracy more than :data:`BACC_DROP`
    below the reference's (the same seed's retrain). Usable on any split (the tuning objective
    applies it on the validation split)."""
    return (acc <= majority_rate + MAJORITY_MARGIN) | (bacc < reference_bacc - BACC_DROP)


def failed(rows: pd.DataFrame, majority_rates: Mapping[str, float]) -> pd.Series:
    """Whether each ledger row is a failed run (see the module docstring), as a boolean Series.

    ``majority_rates`` maps each dataset to the test accuracy of always predicting its largest
    class (``study.majority_rate``). Needs the columns ``dataset``, ``test_acc``, ``test_bacc``
    and ``retrain_test_bacc``."""
    missing = [c for c in ("dataset", "test_acc", "test_bacc", "retrain_test_bacc") if c not in rows]
    if missing:
        raise KeyError(f"rows lack the columns {missing}; pass ledger rows of experiments (they carry test_acc, test_bacc, retrain_test_bacc)")
    unknown = sorted(set(rows["dataset"]) - set(majority_rates))
    if unknown:
        raise KeyError(f"no majority-class rate for datasets {unknown}; majority_rates has {sorted(majority_rates)}")
    majority = rows["dataset"].map(majority_rates).astype(float)
    return fails(acc=rows["test_acc"], bacc=rows["test_bacc"], majority_rate=majority,
                 reference_bacc=rows["retrain_test_bacc"]).rename("failed")


def average_gap_bacc(rows: pd.DataFrame) -> pd.Series:
    """The average gap to retrain over balanced accuracies: mean of |method - retrain| over
    retain, forget and test balanced accuracy and MIA-efficacy, from the ledger's ``gap_*`` columns."""
    columns = [f"gap_{m}" for m in BALANCED_GAP_METRICS]
    missing = [c for c in columns if c not in rows]
    if missing:
        raise KeyError(f"rows lack the columns {missing}; ledger rows of experiments carry them")
    return rows[columns].mean(axis=1, skipna=False).rename("avg_gap_bacc")


def with_damage(rows: pd.DataFrame, majority_rates: Mapping[str, float]) -> pd.DataFrame:
    """A copy of ``rows`` with ``failed`` and ``avg_gap_bacc`` (``report.summarize`` then counts
    ``failed_runs`` per group)."""
    return rows.assign(failed=failed(rows, majority_rates), avg_gap_bacc=average_gap_bacc(rows))


def failure_counts(rows: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Failed runs and runs per group of ``rows`` (which carry ``failed``, see :func:`with_damage`)."""
    if "failed" not in rows:
        raise KeyError("rows lack the column 'failed'; add it with failures.with_damage(rows, majority_rates)")
    grouped = rows.groupby(list(by), sort=False)["failed"]
    return pd.DataFrame({"failed_runs": grouped.sum().astype(int), "runs": grouped.size()}).reset_index()


def failing_methods(rows: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """``{method: (failed runs, runs)}`` for each method of ``rows`` with at least one failed run."""
    counts = failure_counts(rows, by=["method"])
    return {r.method: (int(r.failed_runs), int(r.runs)) for r in counts.itertuples() if r.failed_runs > 0}


def describe_failing(failing: Mapping[str, tuple[int, int]]) -> str:
    """``"ssd (5 of 10), fisher (5 of 5)"``, or ``"none"``."""
    return ", ".join(f"{m} ({k} of {n})" for m, (k, n) in failing.items()) if failing else "none"

