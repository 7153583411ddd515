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

A run can also fail by doing nothing: an approximate method whose forget accuracy and
MIA-efficacy both stay within the noise floor (the equivalence margins, handed in as
``margins``, :mod:`unlearnlib.evaluation.floor_margins`) of the untouched original's on the same seed and
forget set did not unlearn (:func:`did_nothing`). Such a run counts as failed too: it never
supports a method "performing well". Each failed run carries its reason (``failure``) and its
kind (``failure_kind``: "damaged" or "did nothing").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import floor_margins

MAJORITY_MARGIN = 0.01  # test accuracy this close above the majority-class rate (or below it): a collapsed model
BACC_DROP = 0.10  # test balanced accuracy this far below the same seed's retrain: the minority classes were given up
BALANCED_GAP_METRICS = ("retain_bacc", "forget_bacc", "test_bacc", "mia_efficacy")  # avg_gap_bacc averages these gaps

REFERENCES = ("original", "retrain")  # the references: never judged as doing nothing
DID_NOTHING_METRICS = ("forget_acc", "mia_efficacy")
DID_NOTHING = "did nothing: forget accuracy and MIA-efficacy within the noise floor of the original's"
COLLAPSED = "damaged: test accuracy at most the majority-class rate plus the margin (collapsed to the largest class)"
MINORITY_LOST = "damaged: test balanced accuracy far below the same seed's retrain's (the minority classes given up)"
KINDS = ("damaged", "did nothing")
# What identifies one forget set of one original: a run and the original's row on the same forget set share these.
FORGET_SET_KEYS = ("profile", "dataset", "model", "image_size", "seed", "scenario", "scenario_fraction", "scenario_sex",
                   "scenario_size", "scenario_kind", "scenario_score", "scenario_unit")

RULE = (f"a run fails when its test accuracy is at most {MAJORITY_MARGIN} above the majority-class rate of the test split, "
        f"or its test balanced accuracy is more than {BACC_DROP} below the same seed's retrain")
DID_NOTHING_RULE = ("an approximate method's run did nothing, and fails, when its forget accuracy and its MIA-efficacy each lie "
                    "within the noise-floor margin of that metric (|run - original| <= margin) of the untouched original's on the "
                    "same seed and forget set")


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


def original_of(rows: pd.DataFrame, metric: str) -> pd.Series:
    """The untouched original's ``metric`` on each row's forget set (the original's row of ``rows``
    with the same :data:`FORGET_SET_KEYS`, those ``rows`` has); NaN where ``rows`` holds none."""
    keys = [k for k in FORGET_SET_KEYS if k in rows]
    key = rows[keys].astype(object).where(rows[keys].notna(), "<none>").astype(str).agg("|".join, axis=1)
    is_original = rows["method"] == "original"
    if key[is_original].duplicated().any():
        raise ValueError(f"two original rows for one forget set ({', '.join(keys)}); pairing with the original needs one")
    return key.map(rows.loc[is_original, metric].set_axis(key[is_original])).astype(float).rename(f"original_{metric}")


def did_nothing(rows: pd.DataFrame, margins) -> pd.Series:
    """Whether each row is an approximate method's run that did nothing (see the module
    docstring), as a boolean Series; the references (original, retrain) are False.

    Each run is paired with the original's row of ``rows`` on the same forget set
    (:func:`original_of`); ``margins``: the noise floor's table or ``{dataset: {metric: margin}}``
    (:mod:`unlearnlib.evaluation.floor_margins`), for ``forget_acc`` and ``mia_efficacy`` of each dataset.
    A run without its original's row is refused."""
    missing = [c for c in ("dataset", "method", "seed", *DID_NOTHING_METRICS) if c not in rows]
    if missing:
        raise KeyError(f"rows lack the columns {missing}; pass ledger rows of experiments")
    runs = ~rows["method"].isin(REFERENCES)
    within = runs.copy()
    for metric in DID_NOTHING_METRICS:
        reference = original_of(rows, metric)
        lacking = runs & reference.isna()
        if lacking.any():
            example = rows.loc[lacking, ["dataset", "method", "seed"]].head(3).to_dict("records")
            raise KeyError(f"{int(lacking.sum())} run(s) have no original's {metric} on their forget set, e.g. {example}; "
                           "pass the original's rows with them (the rule compares each run with it)")
        bound = rows["dataset"].map(lambda d, m=metric: floor_margins.margin(margins, d, m)).astype(float)
        within &= (rows[metric].astype(float) - reference).abs() <= bound
    return (within & runs).astype(bool).rename("did_nothing")


def reasons(rows: pd.DataFrame, majority_rates: Mapping[str, float], margins=None) -> pd.Series:
    """Each row's failure reason ("" for a run that did not fail): the damage rule's, and with
    ``margins`` also :data:`DID_NOTHING`; several joined by "; "."""
    failed(rows, majority_rates)  # the same checks of columns and datasets
    majority = rows["dataset"].map(majority_rates).astype(float)
    parts = [pd.Series(np.where(rows["test_acc"] <= majority + MAJORITY_MARGIN, COLLAPSED, ""), index=rows.index),
             pd.Series(np.where(rows["test_bacc"] < rows["retrain_test_bacc"] - BACC_DROP, MINORITY_LOST, ""), index=rows.index)]
    if margins is not None:
        parts.append(pd.Series(np.where(did_nothing(rows, margins), DID_NOTHING, ""), index=rows.index))
    joined = pd.concat(parts, axis=1).apply(lambda r: "; ".join(x for x in r if x), axis=1)
    return joined.rename("failure")


def with_damage(rows: pd.DataFrame, majority_rates: Mapping[str, float], margins=None) -> pd.DataFrame:
    """A copy of ``rows`` with ``failed``, ``avg_gap_bacc``, ``failure`` (the reason, "" when none)
    and ``failure_kind`` ("damaged", "did nothing", both joined, or ""); ``report.summarize``
    then counts ``failed_runs`` per group. With ``margins`` (the noise floor's, see
    :func:`did_nothing`) a run that did nothing fails too; without, only damage is checked."""
    failure = reasons(rows, majority_rates, margins)
    kind = failure.map(lambda text: ", ".join(k for k in KINDS if any(part.startswith(k) for part in text.split("; "))))
    return rows.assign(failed=failure != "", avg_gap_bacc=average_gap_bacc(rows), failure=failure, failure_kind=kind)


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


def describe_failures(rows: pd.DataFrame, *, prefix: str = "") -> str:
    """The failing methods of ``rows`` with which kind of failure: ``"ssd (5 of 10: did nothing 5),
    fisher (2 of 5: damaged 2)"``, or ``"none"``; rows without ``failure_kind`` (older tables)
    as :func:`describe_failing`. ``prefix`` goes before each method (``"ham10000: "``)."""
    failing = failing_methods(rows)
    if not failing:
        return "none"
    if "failure_kind" not in rows:
        return ", ".join(f"{prefix}{m} ({k} of {n})" for m, (k, n) in failing.items())
    described = []
    for method, (k, n) in failing.items():
        kinds = rows.loc[(rows["method"] == method) & rows["failed"], "failure_kind"].str.split(", ").explode().value_counts()
        described.append(f"{prefix}{method} ({k} of {n}: " + ", ".join(f"{kind} {int(kinds[kind])}" for kind in KINDS if kind in kinds) + ")")
    return ", ".join(described)

