"""Summaries of result tables: mean and spread over seeds, paired differences with
confidence intervals, and Markdown / CSV output for the notebooks."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .paths import figures_dir

MAIN_METRICS = ("retain_acc", "forget_acc", "test_acc", "mia_efficacy", "loss_attack", "avg_gap", "seconds", "rte")


def summarize(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] = MAIN_METRICS) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds, one row per group, columns
    ``<metric>_mean`` / ``<metric>_sd`` and ``n``; group order as first seen."""
    metrics = [m for m in metrics if m in table.columns]
    grouped = table.groupby(list(by), sort=False)
    out = grouped[metrics].agg(["mean", "std"])
    out.columns = [f"{metric}_{'sd' if stat == 'std' else stat}" for metric, stat in out.columns]
    out["n"] = grouped.size()
    return out.reset_index()


def mean_sd(summary: pd.DataFrame, metrics: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """A readable copy: each metric as 'mean ± sd'."""
    shown = summary.drop(columns=[c for c in summary.columns if c.endswith(("_mean", "_sd"))])
    for metric in metrics:
        if f"{metric}_mean" in summary:
            means, sds = summary[f"{metric}_mean"], summary[f"{metric}_sd"].fillna(0)
            shown[metric] = [f"{m:.{digits}f} ± {s:.{digits}f}" for m, s in zip(means, sds)]
    return shown


def paired_difference(
    table: pd.DataFrame, *, column: str, a: str, b: str, metric: str, by: Sequence[str], pair_on: str = "seed", confidence: float = 0.95
) -> pd.DataFrame:
    """For each group in ``by``: the mean of ``metric`` where ``column == a`` minus where
    ``column == b``, paired on ``pair_on`` (the seed), with a t-based confidence interval
    and the paired t-test's p-value (NaN with fewer than two pairs)."""
    rows = []
    for key, group in table.groupby(list(by), sort=False):
        wide = group.pivot_table(index=pair_on, columns=column, values=metric)
        if a not in wide or b not in wide:
            continue
        diff = (wide[a] - wide[b]).dropna().to_numpy()
        n = len(diff)
        mean = float(diff.mean()) if n else float("nan")
        if n > 1:
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * diff.std(ddof=1) / np.sqrt(n)
            p = float(stats.ttest_rel(wide.loc[:, a].dropna(), wide.loc[:, b].dropna()).pvalue) if diff.std() > 0 else 1.0
        else:
            half, p = float("nan"), float("nan")
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "metric": metric, "difference": mean, "ci_low": mean - half, "ci_high": mean + half, "p_value": p, "pairs": n})
    return pd.DataFrame(rows)


def write_table(table: pd.DataFrame, name: str, *, digits: int = 4) -> list[Path]:
    """``figures/<name>.csv`` and a rendered ``figures/<name>.md``."""
    folder = figures_dir()
    csv, md = folder / f"{name}.csv", folder / f"{name}.md"
    table.to_csv(csv, index=False)
    md.write_text(table.round(digits).to_markdown(index=False) + "\n")
    return [csv, md]
