"""How far a metric moves from one seed to the next: the noise model ``verify`` judges a
recomputation made on another processor by.

A row recomputed on another kind of processor is not a small perturbation of the committed one:
float arithmetic (bf16 above all) rounds differently, training diverges within the first steps,
and the result is a new draw of the training noise (the README's retrains recomputed on an AMD
EPYC differ from their Intel rows by about what another seed gives). A new draw of the same spec
differs from the committed one by the difference of two draws, whose sd is sqrt(2) times the
sd of one draw. The sd of one draw is measured from the ledger:

- a **cell** is one spec but for its seed (dataset, scenario and its parameters, method and
  hyper-parameters): its rows of different seeds are draws of the same experiment (over the
  seed the forget set and the original vary too, so this is an upper bound of the training
  noise alone);
- a metric's **seed sd** for a dataset and method is the pooled within-cell sd over every cell
  of that dataset and method with at least two seeds: ``sqrt(sum (x - cell mean)^2 / df)``,
  ``df = sum (seeds in the cell - 1)``. Three to five seeds per cell estimate a cell's sd to
  about +-40 %; a method's pool needs ``MIN_DF`` (8) degrees of freedom, say three cells of four
  seeds, else the dataset's cells of every method are pooled. Fewer mislead: BreastMNIST's
  retrain has one cell of five seeds, whose loss-attack sd (0.013) is a quarter of every other
  method's there (0.04-0.08), and a new draw differed from its row by 0.073 (issue 31);
- a difference ``d`` fails when ``|d| / (sqrt(2) * sd)`` exceeds the two-sided Student-t quantile
  with ``df`` degrees of freedom at family-wise level ``alpha`` (0.01), Bonferroni-corrected over
  the comparisons made: with 14 comparisons, 3.8 at 30 df, 3.5 at 100.

What ``verify`` did before (issue 31): it divided by the sd across seeds of per-seed means over
every forget size of the method (the seeds' descriptions differ, so a cell rarely matched),
which shrinks the sd of one row by up to the square root of the number of sizes averaged, and it
compared the difference of two draws with the sd of one at a fixed 3: 2 of 14 comparisons
failed on an AMD EPYC against rows from an Intel Xeon (6.2 and 5.4 of those sd).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from scipy import stats

MIN_DF = 8  # enough seeds: below it a method's own sd is not trusted and the dataset's cells of every method are pooled
ALPHA = 0.01  # family-wise false-alarm rate of one verify run


def cell_of(spec_json: str) -> str:
    """A row's cell: its spec without the seed (of the original, which every experiment carries)."""
    spec = json.loads(spec_json)
    spec["original"] = {k: v for k, v in spec["original"].items() if k != "seed"}
    return json.dumps(spec, sort_keys=True)


def _pooled(group: pd.DataFrame, metric: str) -> tuple[float, int, int]:
    """Pooled within-cell sd, its degrees of freedom and the number of cells that gave them."""
    values = group[["cell", metric]].dropna()
    sizes = values.groupby("cell")[metric].transform("size")
    values = values[sizes >= 2]
    if values.empty:
        return float("nan"), 0, 0
    squares = (values[metric] - values.groupby("cell")[metric].transform("mean")) ** 2
    df = int(len(values) - values["cell"].nunique())
    return float(math.sqrt(squares.sum() / df)), df, int(values["cell"].nunique())


def noise_model(table: pd.DataFrame, metrics, *, min_df: int = MIN_DF) -> pd.DataFrame:
    """The seed sd of each metric per dataset and method (``method`` "*": every method of the
    dataset pooled), from the finished rows of ``table`` (an experiments ledger table): columns
    dataset, method, metric, seed_sd, df, cells, pooled_over ("method", or "dataset" where the
    method's own cells give fewer than ``min_df`` degrees of freedom) and the method's own
    method_sd and method_df."""
    rows = table[table["status"] == "ok"].assign(cell=lambda t: t["spec"].map(cell_of))
    out = []
    for dataset, of_dataset in rows.groupby("dataset", sort=True):
        for metric in metrics:
            sd, df, cells = _pooled(of_dataset, metric)
            out.append({"dataset": dataset, "method": "*", "metric": metric, "seed_sd": sd, "df": df, "cells": cells,
                        "pooled_over": "dataset"})
            for method, of_method in of_dataset.groupby("method", sort=True):
                own = _pooled(of_method, metric)
                sd_m, df_m, cells_m = own if own[1] >= min_df else (sd, df, cells)
                out.append({"dataset": dataset, "method": method, "metric": metric, "seed_sd": sd_m, "df": df_m, "cells": cells_m,
                            "pooled_over": "method" if own[1] >= min_df else "dataset", "method_sd": own[0], "method_df": own[1]})
    return pd.DataFrame(out)


def lookup(model: pd.DataFrame, dataset: str, method: str, metric: str) -> tuple[float, int]:
    """The seed sd and its degrees of freedom for one row's metric (the dataset's pool for a
    method the model has no rows of)."""
    found = model[(model["dataset"] == dataset) & (model["metric"] == metric) & (model["method"].isin([method, "*"]))]
    if found.empty:
        return float("nan"), 0
    row = found.sort_values("method", key=lambda m: m == "*").iloc[0]  # the method's own row first
    return float(row["seed_sd"]), int(row["df"])


def threshold(df: int, comparisons: int, alpha: float = ALPHA) -> float:
    """How many sds of a difference of two draws a difference may lie off: the two-sided
    Student-t quantile with ``df`` degrees of freedom at ``alpha``, Bonferroni over ``comparisons``."""
    if df < 1:
        return float("nan")
    return float(stats.t.ppf(1 - alpha / (2 * max(1, comparisons)), df))


def judge(committed: float, recomputed: float, sd: float, df: int, comparisons: int,
          alpha: float = ALPHA) -> tuple[float, float, bool]:
    """``(units, limit, ok)``: the difference in sds of a difference of two draws
    (``sqrt(2) * sd``), the limit it may reach, and whether it stays within it. NaN on both
    sides agrees (a loss attack a small forget set does not have); NaN on one side does not.
    Without a seed sd to judge by (no cell with two seeds) only equality passes."""
    if np.isnan(committed) or np.isnan(recomputed):
        return float("nan"), float("nan"), bool(np.isnan(committed) and np.isnan(recomputed))
    difference, limit = recomputed - committed, threshold(df, comparisons, alpha)
    if not (sd > 0) or np.isnan(limit):
        return (0.0 if difference == 0 else float("inf")), limit, bool(difference == 0)
    units = abs(difference) / (math.sqrt(2) * sd)
    return float(units), limit, bool(units <= limit)
