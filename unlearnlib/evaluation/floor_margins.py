"""Equivalence margins as arguments: what the verdict rules and the failure rule read.

A margin says how close is "as close as another retrain is". The rules never hold one: they
take ``margins``, either the noise floor's table (``noise_floor.margins(...)``: one row per
dataset and metric, columns ``dataset``, ``metric``, ``margin``, ``pairs`` and ``statistic``,
the text of the statistic the margin is) or a plain mapping ``{dataset: {metric: margin}}``
(tests, or a reader trying other margins). A margin's reason is built from the table's
``statistic`` and ``pairs``; a mapping says it was handed in. No number here is typed.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

TABLE_COLUMNS = ("dataset", "metric", "margin")  # the least a margins table needs; ``pairs`` and ``statistic`` give the reason


def _row(margins, dataset: str, metric: str):
    """The table's row (a Series) or the mapping's number for (dataset, metric)."""
    if isinstance(margins, pd.DataFrame):
        missing = [c for c in TABLE_COLUMNS if c not in margins]
        if missing:
            raise KeyError(f"the margins table lacks the columns {missing}; it needs {list(TABLE_COLUMNS)} "
                           "(noise_floor.margins(grid.fetch('noise_floor')))")
        hit = margins[(margins["dataset"] == dataset) & (margins["metric"] == metric)]
        if hit.empty:
            known = sorted(zip(margins["dataset"], margins["metric"]))
            raise KeyError(f"no margin for {metric!r} on {dataset!r}; the table has {known}")
        if len(hit) > 1:
            raise ValueError(f"{len(hit)} margins for {metric!r} on {dataset!r}; a margins table holds one per dataset and metric")
        return hit.iloc[0]
    if isinstance(margins, Mapping):
        per_metric = margins.get(dataset)
        if not isinstance(per_metric, Mapping) or metric not in per_metric:
            raise KeyError(f"no margin for {metric!r} on {dataset!r}; margins has {_listed(margins)}")
        return float(per_metric[metric])
    raise TypeError(f"margins must be the noise floor's table (a DataFrame) or a mapping {{dataset: {{metric: margin}}}}; "
                    f"got {type(margins).__name__}")


def _listed(margins: Mapping) -> str:
    return ", ".join(f"{d}: {sorted(m)}" if isinstance(m, Mapping) else f"{d}: (not a mapping)" for d, m in margins.items()) or "nothing"


def margin(margins, dataset: str, metric: str) -> float:
    """The equivalence margin of ``metric`` on ``dataset``: positive and finite, else refused."""
    row = _row(margins, dataset, metric)
    value = float(row["margin"]) if isinstance(row, pd.Series) else row
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"the margin of {metric!r} on {dataset!r} must be a positive, finite number; got {value!r}")
    return value


def reason(margins, dataset: str, metric: str) -> str:
    """Why the margin is what it is, from the table's ``statistic`` and ``pairs``: e.g.
    ``"forget_acc on ham10000: ±0.021, the 95th percentile of |retrain - second retrain| (40 pairs)"``."""
    value, row = margin(margins, dataset, metric), _row(margins, dataset, metric)
    head = f"{metric} on {dataset}: ±{value:.3g}"
    if not isinstance(row, pd.Series):
        return f"{head}, handed in as a number (no noise-floor statistic)"
    statistic = str(row["statistic"]) if "statistic" in row and pd.notna(row["statistic"]) else "no statistic given"
    pairs = f" ({int(row['pairs'])} pairs)" if "pairs" in row and pd.notna(row["pairs"]) else ""
    return f"{head}, the {statistic}{pairs}"


def describe(margins, datasets: Sequence[str], metrics: Sequence[str]) -> tuple[str, str]:
    """(the margins, their reasons) for a verdict row: ``"ham10000: retain_acc ±0.012, forget_acc ±0.02"``
    and the reasons joined by "; "."""
    shown = "; ".join(f"{d}: " + ", ".join(f"{m} ±{margin(margins, d, m):.3g}" for m in metrics) for d in datasets)
    reasons = "; ".join(reason(margins, d, m) for d in datasets for m in metrics)
    return shown, reasons
