"""The verdict rules of :mod:`unlearnlib.report.paper`, as code: each ``judge_*`` function turns a
notebook's runs (or their paired differences) and the equivalence margins it is handed (the
noise floor's table, :mod:`unlearnlib.evaluation.floor_margins`) into the claim's verdict row, by the rule
``paper.claim(key)["rule"]`` states in words.

Every failed run counts (:mod:`unlearnlib.evaluation.failures`): a damaged run, and a run that did
nothing (its forget accuracy and MIA-efficacy within the noise floor of the original's); the
judges apply the did-nothing rule themselves (:func:`checked`), so a method that did nothing
never supports a claim. Intervals: a TOST claim's estimate carries the 90 % interval its test
uses, a t-test claim's the 95 % one (:func:`interval_at` rescales a 95 % row).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..evaluation import failures, floor_margins, stats as report
from .paper import ALPHA, COST_THRESHOLD, OBJECTIVE_RETRAINS, T_LEVEL, TOST_LEVEL, claim, combine, verdict_row

REFERENCES = failures.REFERENCES
PERFORMS_WELL_METRICS = ("retain_acc", "forget_acc")
ROW_LEVEL = 0.95  # the level of report.paired_difference's and difference_from_reference's intervals


# -- one method's comparison ------------------------------------------------------------------

def classify(row, *, alpha: float = ALPHA) -> str:
    """One method's paired comparison (a row with ``difference``, ``p_equivalence`` and
    ``p_adjusted`` or ``p_value``): ``"equivalent"`` when TOST passes, else ``"higher"`` or
    ``"lower"`` when the (adjusted) two-sided p-value is below ``alpha``, else ``"undetermined"``.
    A significant difference inside the margin is equivalent: too small to matter."""
    p_equivalence = row.get("p_equivalence", np.nan)
    p = row.get("p_adjusted", np.nan)
    p = row.get("p_value", np.nan) if pd.isna(p) else p
    if pd.notna(p_equivalence) and p_equivalence < alpha:
        return "equivalent"
    if pd.notna(p) and p < alpha:
        return "higher" if row["difference"] > 0 else "lower"
    return "undetermined"


def interval_at(row, level: float) -> tuple[float, float]:
    """The t-interval at ``level`` of a row whose ``ci_low`` / ``ci_high`` are the 95 % one
    (``pairs`` paired values): the same centre, the half-width rescaled by the t quantiles."""
    n, low, high = row["pairs"], row["ci_low"], row["ci_high"]
    if pd.isna(low) or pd.isna(high) or n < 2:
        return np.nan, np.nan
    half = (high - low) / 2 * stats.t.ppf(0.5 + level / 2, n - 1) / stats.t.ppf(0.5 + ROW_LEVEL / 2, n - 1)
    return float(row["difference"] - half), float(row["difference"] + half)


# -- counting the methods ---------------------------------------------------------------------

def no_difference_verdict(classes: Sequence[str]) -> str:
    """agree when every method is equivalent; disagree when some differ and none is
    equivalent; mixed when some differ and some are equivalent; else inconclusive."""
    classes = list(classes)
    differ, equivalent = sum(c in ("higher", "lower") for c in classes), sum(c == "equivalent" for c in classes)
    if classes and equivalent == len(classes):
        return "agree"
    if differ and not equivalent:
        return "disagree"
    return "mixed" if differ and equivalent else "inconclusive"


def performs_well_verdict(states: Sequence[str]) -> str:
    """Finding 1 on one dataset, from each counted method's state ("performs well", "does not",
    "undetermined"): see the rule of ``retain_forget``."""
    states = list(states)
    n, well, not_well = len(states), states.count("performs well"), states.count("does not")
    if n and well > n / 2 and not not_well:
        return "agree"
    if n and not_well > n / 2 and not well:
        return "disagree"
    return "mixed" if well and not_well else "inconclusive"


def more_loss_verdict(classes: Sequence[str]) -> str:
    """Finding 3 from each counted method's class of its extra drop over retrain's ("higher": loses
    more): see the rule of ``forget_size``."""
    classes = list(classes)
    n, more, equivalent = len(classes), classes.count("higher"), classes.count("equivalent")
    if n and more > n / 2:
        return "agree"
    if n and not more and equivalent > n / 2:
        return "disagree"
    return "mixed" if more and (equivalent or "lower" in classes) else "inconclusive"


def bias_verdict(classes: Sequence[str]) -> str:
    """Finding 4 from each counted method's class of hard minus easy ("higher": against hard,
    "lower": against easy): see the rule of ``difficulty``."""
    classes = list(classes)
    n, biased, equivalent = len(classes), sum(c in ("higher", "lower") for c in classes), classes.count("equivalent")
    if n and biased > n / 2:
        return "agree"
    if n and not biased and equivalent > n / 2:
        return "disagree"
    return "mixed" if biased and equivalent else "inconclusive"


BIAS_WORDS = {"higher": "against hard", "lower": "against easy", "equivalent": "no bias", "undetermined": "undetermined"}


# -- failures, estimates ----------------------------------------------------------------------

def checked(runs: pd.DataFrame, margins) -> pd.DataFrame:
    """``runs`` (with ``failed``, ``failures.with_damage``) with the did-nothing rule applied too:
    ``failed`` and ``failure_kind`` updated (idempotent). Rows without the original's run on
    their forget set cannot be checked and are refused by ``failures.did_nothing``."""
    if "failed" not in runs:
        raise KeyError("runs lack the column 'failed'; add it with failures.with_damage(rows, majority_rates, margins)")
    did = failures.did_nothing(runs, margins)
    kind = runs["failure_kind"].fillna("") if "failure_kind" in runs else pd.Series("", index=runs.index)
    add = did & ~kind.str.contains("did nothing")
    kind = kind.where(~add, (kind + ", did nothing").str.lstrip(", "))
    return runs.assign(failed=runs["failed"].astype(bool) | did, failure_kind=kind)


def _approximate(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[~runs["method"].isin(REFERENCES)]


def _furthest(rows: pd.DataFrame, level: float, label: str, name=lambda r: r["method"]) -> dict:
    """The row whose interval at ``level`` reaches furthest from 0, as the verdict row's estimate."""
    if rows.empty:
        return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "estimate_label": label}
    intervals = pd.DataFrame([interval_at(r, level) for _, r in rows.iterrows()], index=rows.index, columns=["low", "high"])
    top = report.smallest_ruled_out(intervals["low"], intervals["high"]).fillna(np.inf).idxmax()
    row = rows.loc[top]
    return {"estimate": row["difference"], "ci_low": intervals.loc[top, "low"], "ci_high": intervals.loc[top, "high"],
            "estimate_label": f"{name(row)}: {label}"}


def _adjusted(differences: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = differences[(differences["metric"] == metric) & ~differences["method"].isin(REFERENCES)]
    if "p_adjusted" not in rows or (rows["p_adjusted"].isna().all() and rows["p_value"].notna().any()):
        raise KeyError(f"the {metric} differences lack Holm's p_adjusted; adjust them over the approximate methods "
                       "(report.with_adjusted_p(..., method='holm'))")
    return rows


def _margin_checked(rows: pd.DataFrame, margins, dataset: str, metric: str) -> float:
    value = floor_margins.margin(margins, dataset, metric)
    if "margin" not in rows or not np.allclose(rows["margin"].astype(float), value):
        raise ValueError(f"the {metric} differences were tested against margins {sorted(set(rows.get('margin', [])))}, "
                         f"not the noise floor's {value:.4g} on {dataset}; compute them with margin=floor_margins.margin(...)")
    return value


# -- the judges -------------------------------------------------------------------------------

def _judge_arms(key: str, differences, runs, *, margins, dataset: str, metric: str, verdict_of, level: float) -> dict:
    rows = _adjusted(differences, metric)
    _margin_checked(rows, margins, dataset, metric)
    runs = checked(runs, margins)
    failing = failures.failing_methods(_approximate(runs))
    counted = rows[~rows["method"].isin(list(failing))]
    verdict = verdict_of([classify(r) for _, r in counted.iterrows()])
    shown, reason = floor_margins.describe(margins, [dataset], [metric])
    return verdict_row(key, verdict, **_furthest(counted, level, claim(key)["estimate_label"]), counted=list(counted["method"]),
                       failing=failures.describe_failures(_approximate(runs)), margin=shown, margin_reason=reason)


def judge_no_difference(key: str, differences: pd.DataFrame, runs: pd.DataFrame, *, margins, dataset: str,
                        metric: str = "avg_gap") -> dict:
    """The verdict row of a "no difference" claim (``sex_bias``, ``patient_level``) from the arms'
    paired differences (``report.paired_difference(..., margin=floor_margins.margin(margins, dataset,
    metric))``, Holm's ``p_adjusted`` over the approximate methods) and the compared arms' runs
    (with ``failed``; the original's rows included, for the did-nothing rule)."""
    return _judge_arms(key, differences, runs, margins=margins, dataset=dataset, metric=metric,
                       verdict_of=no_difference_verdict, level=TOST_LEVEL)


def judge_bias(key: str, differences: pd.DataFrame, runs: pd.DataFrame, *, margins, dataset: str, metric: str = "avg_gap") -> dict:
    """The verdict row of "might be biased against easy or hard samples" from hard-minus-easy
    paired differences (as :func:`judge_no_difference`), two-sided."""
    return _judge_arms(key, differences, runs, margins=margins, dataset=dataset, metric=metric, verdict_of=bias_verdict,
                       level=T_LEVEL)


def gap_closed(results: pd.DataFrame, *, column: str = "scenario_kind", a: str = "hard", b: str = "easy") -> pd.DataFrame:
    """Finding 4's secondary measure: each approximate method's share of the original's gap it
    closes, (original's avg_gap - method's) / original's on the same seed and forget set, ``a``
    minus ``b`` paired over seeds (95 % interval), Holm over the methods. Not in the verdict."""
    rows = results.assign(gap_closed=(failures.original_of(results, "avg_gap") - results["avg_gap"])
                          / failures.original_of(results, "avg_gap"))
    differences = report.paired_difference(_approximate(rows), column=column, a=a, b=b, metric="gap_closed", by=["method"])
    return report.with_adjusted_p(differences, method="holm")


def versus_retrain(runs: pd.DataFrame, margins, metrics: Sequence[str] = PERFORMS_WELL_METRICS) -> pd.DataFrame:
    """Finding 1's tests: per dataset, approximate method and metric, the run minus the same
    seed's retrain (``retrain_<metric>``), paired over seeds, TOST against that metric's margin
    on the dataset, Holm over the dataset's methods x metrics; ``result`` (:func:`classify`)
    and the 90 % interval TOST uses (``ci90_low``, ``ci90_high``)."""
    tables = []
    for dataset, part in _approximate(runs).groupby("dataset", sort=False):
        tests = pd.concat([report.difference_from_reference(part, metrics=[m], by=["dataset", "method"],
                                                            margin=floor_margins.margin(margins, dataset, m)) for m in metrics],
                          ignore_index=True)
        tables.append(report.with_adjusted_p(tests, method="holm"))  # one family: the dataset's methods x metrics
    tests = pd.concat(tables, ignore_index=True)
    ci90 = [interval_at(r, TOST_LEVEL) for _, r in tests.iterrows()]
    return tests.assign(result=[classify(r) for _, r in tests.iterrows()], ci90_low=[c[0] for c in ci90],
                        ci90_high=[c[1] for c in ci90])


def judge_performs_well(runs: pd.DataFrame, margins) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Finding 1 (``retain_forget``): (the verdict row, the tests of :func:`versus_retrain`, one
    row per dataset and method with its ``state`` and its dataset's ``dataset_verdict``).
    ``runs``: the tuned ledger rows with ``failed`` (``failures.with_damage``), the original's
    and the retrain's included."""
    runs = checked(runs, margins)
    tests = versus_retrain(runs, margins)
    states, per_dataset, counted, failing_text = [], {}, [], []
    for dataset, part in tests.groupby("dataset", sort=False):
        approx = _approximate(runs[runs["dataset"] == dataset])
        failing = failures.failing_methods(approx)
        for method, rows in part.groupby("method", sort=False):
            results = dict(zip(rows["metric"], rows["result"]))
            state = ("failing" if method in failing else "performs well" if all(r == "equivalent" for r in results.values())
                     else "does not" if any(r in ("higher", "lower") for r in results.values()) else "undetermined")
            kn = failing.get(method, (0, int((approx["method"] == method).sum())))
            states.append({"dataset": dataset, "method": method, **results, "state": state, "failed_runs": kn[0], "runs": kn[1]})
        counted_here = [s["state"] for s in states if s["dataset"] == dataset and s["state"] != "failing"]
        per_dataset[dataset] = performs_well_verdict(counted_here)
        counted += [f"{dataset}: {s['method']}" for s in states if s["dataset"] == dataset and s["state"] != "failing"]
        if failing:
            failing_text.append(failures.describe_failures(approx, prefix=f"{dataset}: "))
    states = pd.DataFrame(states)
    states["dataset_verdict"] = states["dataset"].map(per_dataset)
    kept = tests.merge(states[states["state"] != "failing"][["dataset", "method"]], on=["dataset", "method"])
    estimate = _furthest(kept, TOST_LEVEL, "minus the same seed's retrain",
                         name=lambda r: f"{r['dataset']} {r['method']} {r['metric']}")
    shown, reason = floor_margins.describe(margins, list(per_dataset), list(PERFORMS_WELL_METRICS))
    row = verdict_row("retain_forget", combine(list(per_dataset.values())), **estimate, counted=counted,
                      failing="; ".join(failing_text) or "none", margin=shown, margin_reason=reason)
    return row, tests, states


def extra_drops(ends: pd.DataFrame, margins) -> pd.DataFrame:
    """Finding 3's tests on the curve's two ends (``ends``: one dataset's runs at the smallest and
    the largest ``scenario_fraction``, the retrain's included): per approximate method, its
    test-accuracy drop (smallest minus largest) minus the same seed's retrain drop (``metric``
    "extra_drop"), paired over seeds, TOST against the test-accuracy margin, Holm over the methods,
    ``result``; and retrain's own drop (``metric`` "drop", context, not tested against a margin)."""
    datasets = ends["dataset"].unique()
    if len(datasets) != 1:
        raise ValueError(f"the ends of one size curve hold one dataset; got {sorted(datasets)}")
    margin = floor_margins.margin(margins, datasets[0], "test_acc")
    small, large = ends["scenario_fraction"].min(), ends["scenario_fraction"].max()
    level = ends[ends["scenario_fraction"].isin([small, large])].pivot(index=["method", "seed"], columns="scenario_fraction",
                                                                       values="test_acc")
    drop = (level[small] - level[large]).rename("drop").reset_index()
    retrain = drop[drop["method"] == "retrain"]
    tests = [report.paired_difference(pd.concat([drop[drop["method"] == m].assign(arm="method"), retrain.assign(arm="retrain", method=m)]),
                                      column="arm", a="method", b="retrain", metric="drop", by=["method"], margin=margin)
             for m in dict.fromkeys(_approximate(drop)["method"])]
    tests = report.with_adjusted_p(pd.concat(tests, ignore_index=True), method="holm").assign(metric="extra_drop")
    tests["result"] = [classify(r) for _, r in tests.iterrows()]
    own = ends[(ends["method"] == "retrain") & ends["scenario_fraction"].isin([small, large])]
    own = report.paired_difference(own.assign(end=np.where(own["scenario_fraction"] == small, "small", "large")), column="end",
                                   a="small", b="large", metric="test_acc", by=["method"]).assign(metric="drop")
    return pd.concat([own, tests], ignore_index=True).assign(dataset=datasets[0], smallest=small, largest=large)


def judge_forget_size(ends: pd.DataFrame, margins) -> tuple[dict, pd.DataFrame]:
    """Finding 3 (``forget_size``): (the verdict row, :func:`extra_drops`). ``ends``: the runs at
    the curve's two ends with ``failed`` (``failures.with_damage``), original and retrain included."""
    ends = checked(ends, margins)
    table = extra_drops(ends, margins)
    approx = _approximate(ends)
    failing = failures.failing_methods(approx)
    counted = table[(table["metric"] == "extra_drop") & ~table["method"].isin(list(failing))]
    shown, reason = floor_margins.describe(margins, [table["dataset"].iloc[0]], ["test_acc"])
    row = verdict_row("forget_size", more_loss_verdict(list(counted["result"])),
                      **_furthest(counted, T_LEVEL, claim("forget_size")["estimate_label"]), counted=list(counted["method"]),
                      failing=failures.describe_failures(approx), margin=shown, margin_reason=reason)
    return row, table


def tuning_costs(tuning: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the median tuning cost in retrains over the tunable methods (objective
    ``retrain``): without the objective's retrain (``median_tuning_only``) and with it
    (``median_cost``, what the verdict uses), and the methods' number."""
    rows = tuning[tuning["objective"] == "retrain"]
    grouped = rows.groupby("dataset", sort=False)["cost_in_retrains"]
    return pd.DataFrame({"median_tuning_only": grouped.median(), "median_cost": (rows["cost_in_retrains"] + OBJECTIVE_RETRAINS)
                         .groupby(rows["dataset"], sort=False).median(), "methods": grouped.size()}).reset_index()


def judge_cost(key: str, tuning: pd.DataFrame, tunable: Sequence[str]) -> dict:
    """The verdict row of "tuning needs additional computational overhead" from the tuning rows
    (``dataset``, ``objective``, ``cost_in_retrains``): each dataset's median full cost
    (:func:`tuning_costs`) against :data:`paper.COST_THRESHOLD`."""
    costs = tuning_costs(tuning)["median_cost"].to_numpy(dtype=float)
    if not len(costs):
        verdict = "inconclusive"
    else:
        verdict = "agree" if (costs >= COST_THRESHOLD).all() else ("disagree" if (costs < COST_THRESHOLD).all() else "mixed")
    low = float(costs.min()) if len(costs) else np.nan
    return verdict_row(key, verdict, estimate=low, ci_low=np.nan, ci_high=np.nan, counted=list(tunable), failing={})
