"""Summaries of result tables: mean and spread over seeds, paired differences with
confidence intervals, the smallest difference an interval rules out, family-wise p-value
adjustment, and Markdown / CSV output for the notebooks."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .metrics import MAIN_METRICS  # declared once, in metrics.METRICS
from ..paths import figures_dir


def summarize(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] = MAIN_METRICS) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds, one row per group, columns
    ``<metric>_mean`` / ``<metric>_sd`` and ``n``; group order as first seen. When ``table``
    has a boolean ``failed`` column (``failures.with_damage``), ``failed_runs`` counts the
    group's failed runs (k of its n)."""
    metrics = [m for m in metrics if m in table.columns]
    grouped = table.groupby(list(by), sort=False)
    out = grouped[metrics].agg(["mean", "std"])
    out.columns = [f"{metric}_{'sd' if stat == 'std' else stat}" for metric, stat in out.columns]
    out["n"] = grouped.size()
    if "failed" in table.columns:
        out["failed_runs"] = grouped["failed"].sum().astype(int)
    return out.reset_index()


def mean_sd(summary: pd.DataFrame, metrics: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """A readable copy: each metric as 'mean ± sd'; a metric whose means and sds are all whole
    numbers (counts) without decimals; a missing mean as '-'."""
    shown = summary.drop(columns=[c for c in summary.columns if c.endswith(("_mean", "_sd"))])
    for metric in metrics:
        if f"{metric}_mean" in summary:
            means, sds = summary[f"{metric}_mean"], summary[f"{metric}_sd"].fillna(0)
            whole = all(float(v).is_integer() for v in pd.concat([means, sds]).dropna())
            places = 0 if whole else digits
            shown[metric] = ["-" if pd.isna(m) else f"{m:.{places}f} ± {s:.{places}f}" for m, s in zip(means, sds)]
    return shown


NO_OP = 0.005  # a method whose retain, forget and test accuracy all stay this close to the original's changed nothing


def signal_checks(summary: pd.DataFrame, runs: pd.DataFrame, *, datasets: Sequence[str]) -> pd.DataFrame:
    """Per dataset and approximate method: its largest change in retain, forget or test accuracy
    from the original's (means over seeds; under :data:`NO_OP` it changed nothing), its runs
    whose status is not ok, its failed runs and its runs. ``summary``: :func:`summarize` by
    dataset and method; ``runs``: the ledger rows with ``failed`` (``failures.with_damage``)."""
    checks = []
    for dataset in datasets:
        part = summary[summary.dataset == dataset].set_index("method")
        for method in part.index.drop(["original", "retrain"], errors="ignore"):
            moved = max(abs(part.loc[method, f"{k}_mean"] - part.loc["original", f"{k}_mean"]) for k in ("retain_acc", "forget_acc", "test_acc"))
            rows = runs[(runs.dataset == dataset) & (runs.method == method)]
            checks.append({"dataset": dataset, "method": method, "largest_accuracy_change_vs_original": moved,
                           "changes_model": moved >= NO_OP, "runs_not_ok": int((rows["status"] != "ok").sum()),
                           "failed_runs": int(rows["failed"].sum()), "runs": len(rows)})
    return pd.DataFrame(checks)


def paired_difference(
    table: pd.DataFrame, *, column: str, a: str, b: str, metric: str, by: Sequence[str], pair_on: str = "seed", confidence: float = 0.95,
    margin: float | None = None,
) -> pd.DataFrame:
    """For each group in ``by``: the mean of ``metric`` where ``column == a`` minus where
    ``column == b``, paired on ``pair_on`` (the seed), with a t-based confidence interval
    and the p-value of a one-sample t-test of the differences against 0.

    The two arms are aligned by the pair key, and a pair with ``metric`` missing in either
    arm is dropped (``pairs`` counts what is left; fewer than two pairs give NaN interval
    and p-value). When every difference is the same (zero variance), the interval is that
    point and p is 0 if it is nonzero, 1 if it is zero, matching whether the interval
    excludes 0. A group with both arms missing is left out. Two rows for one (group, arm,
    pair) raise ValueError: averaging them would hide a duplicated run.

    With an equivalence ``margin``, each row also carries ``margin`` and ``p_equivalence``:
    the p-value of the two one-sided tests (TOST) that the mean difference lies inside
    (-margin, +margin) (:func:`tost_p_value`).
    """
    by = list(by)
    arms = table[table[column].isin([a, b])]
    _refuse_duplicates(arms, [*by, column, pair_on])
    rows = []
    for key, group in arms.groupby(by, sort=False):
        arm = {name: rows_.set_index(pair_on)[metric] for name, rows_ in group.groupby(column, sort=False)}
        if a not in arm or b not in arm:
            continue
        paired = pd.concat({"a": arm[a], "b": arm[b]}, axis=1, join="inner").dropna()
        diff = (paired["a"] - paired["b"]).to_numpy(dtype=float)
        mean, half, p = _one_sample_t(diff, confidence)
        key = key if isinstance(key, tuple) else (key,)
        row = {**dict(zip(by, key)), "metric": metric, "difference": mean, "ci_low": mean - half, "ci_high": mean + half, "p_value": p, "pairs": len(diff)}
        if margin is not None:
            row.update(margin=margin, p_equivalence=tost_p_value(diff, margin))
        rows.append(row)
    return pd.DataFrame(rows)


def against_baseline(runs: pd.DataFrame, *, datasets: Sequence[str], methods: Sequence[str], metric: str = "avg_gap",
                     baseline: str = "original") -> pd.DataFrame:
    """Each approximate method of ``methods`` minus ``baseline`` in ``metric``, paired over seeds
    per dataset (:func:`paired_difference`), with Holm's ``p_adjusted`` over the methods of a dataset."""
    rows = []
    for dataset in datasets:
        part = runs[runs.dataset == dataset]
        base = part[part.method == baseline]
        for method in [m for m in methods if m not in ("original", "retrain")]:
            pair = pd.concat([part[part.method == method].assign(arm=method), base.assign(arm=baseline)])
            rows.append(paired_difference(pair, column="arm", a=method, b=baseline, metric=metric, by=["dataset"]).assign(method=method))
    return with_adjusted_p(pd.concat(rows, ignore_index=True), method="holm", family=["dataset"])


def difference_from_reference(
    rows: pd.DataFrame, *, metrics: Sequence[str], by: Sequence[str], reference: str = "retrain", confidence: float = 0.95,
    margin: float | None = None,
) -> pd.DataFrame:
    """For each group in ``by`` and each metric ``m``: the mean of ``m - <reference>_m`` over the
    group's rows (a ledger row carries the same seed's retrain as ``retrain_<m>``, so each row is
    one pair), with the t-interval, the two-sided p-value and, with ``margin``, the TOST
    ``p_equivalence``. Columns as :func:`paired_difference`."""
    by = list(by)
    missing = [c for m in metrics for c in (m, f"{reference}_{m}") if c not in rows]
    if missing:
        raise KeyError(f"rows lack the columns {missing}; each metric needs its own and the reference's column")
    out = []
    for key, group in rows.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for metric in metrics:
            diff = (group[metric] - group[f"{reference}_{metric}"]).dropna().to_numpy(dtype=float)
            mean, half, p = _one_sample_t(diff, confidence)
            row = {**dict(zip(by, key)), "metric": metric, "difference": mean, "ci_low": mean - half, "ci_high": mean + half,
                   "p_value": p, "pairs": len(diff)}
            if margin is not None:
                row.update(margin=margin, p_equivalence=tost_p_value(diff, margin))
            out.append(row)
    return pd.DataFrame(out)


def _refuse_duplicates(table: pd.DataFrame, keys: list[str]) -> None:
    counts = table.groupby(keys, sort=False).size()
    repeated = counts[counts > 1]
    if len(repeated):
        listed = "; ".join(f"{dict(zip(keys, k))}: {n} rows" for k, n in repeated.head(5).items())
        more = f" (and {len(repeated) - 5} more)" if len(repeated) > 5 else ""
        raise ValueError(f"paired_difference needs one row per ({', '.join(keys)}); duplicated: {listed}{more}")


def _one_sample_t(diff: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean, interval half-width and two-sided p-value of a one-sample t-test against 0."""
    n = len(diff)
    if n < 2:
        return (float(diff.mean()) if n else float("nan")), float("nan"), float("nan")
    mean, sd = float(diff.mean()), float(diff.std(ddof=1))
    # Rounding leaves ~1e-17 of spread in a constant difference; treat that as none.
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return mean, 0.0, (1.0 if abs(mean) <= 1e-12 else 0.0)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
    return mean, half, float(stats.ttest_1samp(diff, 0.0).pvalue)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The one-sample t-interval of the mean of ``values`` (NaNs dropped); NaN with fewer than two."""
    values = np.asarray(values, dtype=float)
    mean, half, _ = _one_sample_t(values[~np.isnan(values)], confidence)
    return mean - half, mean + half


def tost_p_value(differences, margin: float) -> float:
    """Two one-sided t-tests (Schuirmann's TOST) of paired ``differences`` against an
    equivalence margin: H0 mean <= -margin and H0 mean >= +margin. Returns the larger of the
    two one-sided p-values; below alpha, both nulls are rejected and the mean difference lies
    inside (-margin, +margin) (equivalently, the 1 - 2 alpha interval lies inside the margin).

    NaN values are dropped; NaN with fewer than two differences. With zero spread the test is
    exact: 0 when the constant difference lies strictly inside the margin, else 1."""
    if not np.isfinite(margin) or margin <= 0:
        raise ValueError(f"margin must be a positive, finite number; got {margin!r}")
    diff = np.asarray(differences, dtype=float)
    diff = diff[~np.isnan(diff)]
    n = len(diff)
    if n < 2:
        return float("nan")
    mean, sd = float(diff.mean()), float(diff.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return 0.0 if abs(mean) < margin else 1.0
    se = sd / np.sqrt(n)
    p_above_lower = stats.t.sf((mean + margin) / se, n - 1)  # H0: mean <= -margin
    p_below_upper = stats.t.cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
    return float(max(p_above_lower, p_below_upper))


def smallest_ruled_out(ci_low, ci_high):
    """The smallest absolute difference a confidence interval rules out: max(|low|, |high|).

    For a "no difference" finding (an interval containing 0) this is what the data can
    exclude: differences larger than it in either direction. Works on numbers, arrays and
    columns; NaN where the interval is NaN.
    """
    return np.maximum(np.abs(ci_low), np.abs(ci_high))


P_ADJUSTMENTS = ("holm", "bonferroni")


def adjust_p_values(p_values, method: str = "holm") -> np.ndarray:
    """Family-wise adjusted p-values (Holm's step-down, or Bonferroni), capped at 1.

    NaN p-values (too few pairs) are not part of the family and stay NaN.
    """
    if method not in P_ADJUSTMENTS:
        raise ValueError(f"unknown p-value adjustment {method!r}; choose one of {P_ADJUSTMENTS}")
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if method == "bonferroni":
        out[present] = np.minimum(1.0, m * p[present])
        return out
    order = present[np.argsort(p[present], kind="stable")]
    # Holm: the i-th smallest p times (m - i), kept monotone so that order is preserved.
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(1.0, stepped)
    return out


def with_adjusted_p(table: pd.DataFrame, *, method: str = "holm", family: Sequence[str] | None = None) -> pd.DataFrame:
    """A copy of a :func:`paired_difference` table with ``p_adjusted``: its ``p_value``
    adjusted over the whole table or, with ``family``, within each group of those columns."""
    out = table.copy()
    if family:
        out["p_adjusted"] = out.groupby(list(family), sort=False)["p_value"].transform(lambda p: adjust_p_values(p, method))
    else:
        out["p_adjusted"] = adjust_p_values(out["p_value"], method)
    return out


def write_table(table: pd.DataFrame, name: str, *, digits: int = 4) -> list[Path]:
    """``figures/<name>.csv`` and a rendered ``figures/<name>.md``."""
    folder = figures_dir()
    csv, md = folder / f"{name}.csv", folder / f"{name}.md"
    table.to_csv(csv, index=False)
    md.write_text(table.round(digits).to_markdown(index=False) + "\n")
    return [csv, md]
