"""Per-example attacks in notebook 07 (issue 34): what they find per method, and whether they rank
the methods as the population attack does (the study's verdict on :data:`PER_EXAMPLE_CLAIM`).

The rows: U-LiRA (:mod:`unlearnlib.kinds.ulira`; the method's unlearned model against the same seed's
retrain, scored on its forget set) on the quality dataset, offline LiRA
(:mod:`unlearnlib.kinds.offline_lira`; the model's forget images against never-seen test images) on
the others; one row per method and seed of the main table. In both, ``retrain`` is the
calibration at chance (U-LiRA: a retrain of another seed; offline: the retrain itself) and
``original`` the calibration far above it.

:func:`per_example_table`, per dataset and method: the mean AUC, TPR at 1 % and 0.1 % FPR and
the share flagged at 1 % FPR, each with its paired difference against the retrain row of the same
seed and that difference's 95 % t-interval (:func:`unlearnlib.evaluation.lira.paired_interval`), and the
per-method test "are its forget examples more identifiable than under retraining": the one-sided
paired t-test of the AUC difference, Holm over the approximate methods of the dataset. AUC is the
test's metric because it uses every example: with the 55 negatives of a BreastMNIST forget set,
TPR at 1 % FPR is the TPR at zero false positives (:func:`unlearnlib.evaluation.lira.tpr_at_fpr`), a count of
a few examples.

:func:`judge_ranking` then asks, per dataset, whether the approximate methods' per-example TPR at
1 % FPR and their population MIA-efficacy gap to retrain rank them alike (Spearman, seeds
bootstrapped), as Hayes et al. (arXiv 2403.01218) found they do not on CIFAR-10.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..evaluation import lira, stats as report

ALPHA = 0.05  # every test here, as every verdict rule of unlearnlib.report.paper
REFERENCES = ("original", "retrain")  # calibration rows: shown, never counted
METRICS = ("auc", "tpr_at_1pct", "tpr_at_0p1pct", "flagged_at_1pct")
TEST_METRIC = "auc"  # the per-method test's metric (see the module docstring)
RANK_METRIC = "tpr_at_1pct"  # the per-example side of the ranking (the field's convention, the choice)
POPULATION_METRIC = "gap_mia_efficacy"  # the population side: |MIA-efficacy minus the same seed's retrain's|, mean over seeds
# Ranking "alike" needs at least a strong positive rank correlation; below this upper bound the data rule it out.
STRONG_RHO = 0.5
MIN_METHODS = 4  # fewer counted methods give no usable rank correlation
BOOTSTRAP = 2000  # seed resamples of the Spearman interval
BOOTSTRAP_SEED = 0
MORE, NOT_SHOWN = "more identifiable than retraining", "not shown more identifiable"
ALIKE, UNLIKE, UNDETERMINED = "alike", "unlike", "undetermined"

PER_EXAMPLE_CLAIM: dict = {
    "key": "per_example_ranking",
    "finding": "Per-example vs population attacks",
    "quote": "A per-example membership attack ranks the unlearning methods as the population attack does.",
    "source": "this study",
    "reading": ("Across the approximate methods, the per-example attack's TPR at 1 % FPR (U-LiRA on the quality dataset, "
                "offline LiRA on the others) and the population attack's MIA-efficacy gap to retrain are strongly "
                "positively rank-correlated on each dataset."),
    "notebook": "07",
    "margin_metrics": (),
    "interval_level": 0.95,
    "estimate_label": "Spearman rho, per-example TPR at 1 % FPR vs |MIA-efficacy gap|, lowest over datasets",
    "rule": (
        f"Per dataset, over the counted approximate methods: each method's mean over seeds of the per-example attack's TPR "
        f"at 1 % FPR and of |MIA-efficacy minus the same seed's retrain's|; rho = Spearman's rank correlation of the two; "
        f"its 95 % interval: percentile bootstrap over seeds ({BOOTSTRAP} resamples, the same seeds for both metrics). "
        f"'{ALIKE}': the interval lies above 0; '{UNLIKE}': it lies below {STRONG_RHO} (a strong positive association "
        f"ruled out); else '{UNDETERMINED}' (also with fewer than {MIN_METHODS} counted methods). agree: every dataset "
        f"alike; disagree: every dataset unlike; mixed: some alike and some unlike; inconclusive otherwise. Counted: the "
        f"approximate methods without a failed run (an unlearning run failing the rule of unlearnlib.evaluation.failures, or an "
        f"attack that did not finish); a failing method is reported with its failed runs of all, never counted. "
        f"Estimate: the lowest rho over datasets with its interval."),
}


def _ok(rows: pd.DataFrame) -> pd.Series:
    return (rows["status"].astype(str) == "ok") & np.isfinite(rows[TEST_METRIC].to_numpy(dtype=float))


def per_example_table(rows: pd.DataFrame, *, attack: str | Mapping[str, str] = "") -> pd.DataFrame:
    """Per dataset and method (order as first seen): the mean of each of :data:`METRICS`, its
    paired difference against the same seed's retrain row (``<metric>_vs_retrain``) with the 95 %
    t-interval (``<metric>_ci_low`` / ``_ci_high``), ``p_one_sided`` (the AUC difference above 0),
    ``p_adjusted`` (Holm over the approximate methods of the dataset), ``verdict``, ``n_seeds``
    and ``failed_runs`` of ``runs``. ``attack``: the attack's name per dataset (a column)."""
    out = []
    for (dataset, method), group in rows.groupby(["dataset", "method"], sort=False):
        ok = group[_ok(group)].set_index("seed")
        retrain = rows[(rows.dataset == dataset) & (rows.method == "retrain")]
        retrain = retrain[_ok(retrain)].set_index("seed")
        seeds = ok.index.intersection(retrain.index)
        entry = {"dataset": dataset, "attack": attack.get(dataset, "") if isinstance(attack, Mapping) else attack, "method": method}
        for metric in METRICS:
            paired = lira.paired_interval(ok.loc[seeds, metric], retrain.loc[seeds, metric])
            entry |= {metric: ok[metric].mean(), f"{metric}_vs_retrain": paired["difference"],
                      f"{metric}_ci_low": paired["ci_low"], f"{metric}_ci_high": paired["ci_high"]}
            if metric == TEST_METRIC:
                two_sided = paired["p_value"]
                entry["p_one_sided"] = (two_sided / 2 if paired["difference"] > 0 else 1 - two_sided / 2) if np.isfinite(two_sided) else np.nan
        out.append(entry | {"n_seeds": len(seeds), "failed_runs": int(len(group) - len(ok)), "runs": len(group)})
    table = pd.DataFrame(out)
    if table.empty:
        return table
    table["p_adjusted"] = np.nan
    tested = ~table["method"].isin(REFERENCES)
    for _, part in table[tested].groupby("dataset", sort=False):
        table.loc[part.index, "p_adjusted"] = report.adjust_p_values(part["p_one_sided"], "holm")
    table["verdict"] = ["calibration (reference)" if r.method == "retrain" else
                        MORE if (r.p_one_sided if r.method == "original" else r.p_adjusted) < ALPHA else NOT_SHOWN
                        for r in table.itertuples()]
    return table


def mean_roc(rows: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and method, the TPR at each FPR of :data:`lira.ROC_GRID`, averaged over the
    seeds whose attack finished (vertical averaging of the rows' ``tpr_curve``)."""
    out = []
    for (dataset, method), group in rows[_ok(rows)].groupby(["dataset", "method"], sort=False):
        curves = np.array([curve_values(c) for c in group["tpr_curve"]])
        for fpr, tpr in zip(lira.ROC_GRID, curves.mean(axis=0)):
            out.append({"dataset": dataset, "method": method, "fpr": fpr, "tpr": float(tpr), "n_seeds": len(group)})
    return pd.DataFrame(out)


def attack_cost(rows: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the attack rows' own compute, one thread each (issue 34's budget: U-LiRA within
    3 hours on 2 cores, offline LiRA within 1 hour beyond the memorization models): the models every
    method shares (U-LiRA: the shadow originals and retrains; offline: the reference models, the
    memorization estimate's half-data models trained again because their weights were not kept),
    the shadows' unlearning (U-LiRA: each method's, once per design), the attacked runs (each
    row's method run and scoring), in core-seconds, and the total in core-hours. Wall time on
    2 cores is at best half the total (two tasks at a time)."""
    out = []
    for dataset, group in rows.groupby("dataset", sort=False):
        shadows = "design" in group and group["design"].notna().any()
        shared = (group.drop_duplicates("design")["shadow_train_seconds"] if shadows
                  else group.drop_duplicates("references")["reference_seconds"]).astype(float).sum()
        unlearning = group.drop_duplicates(["design", "method"])["shadow_method_seconds"].astype(float).sum() if shadows else 0.0
        attacked = group["method_seconds"].astype(float).sum()
        total = shared + unlearning + attacked
        out.append({"dataset": dataset, "rows": len(group), "shared_models_s": shared, "shadow_unlearning_s": unlearning,
                    "attacked_runs_s": attacked, "core_hours": total / 3600, "beyond_shared_core_hours": (unlearning + attacked) / 3600})
    return pd.DataFrame(out)


def curve_values(text: str) -> list[float]:
    """A row's ``tpr_curve`` (a JSON list) as numbers."""
    values = json.loads(text)
    if len(values) != len(lira.ROC_GRID):
        raise ValueError(f"a tpr_curve holds one TPR per FPR of lira.ROC_GRID ({len(lira.ROC_GRID)}); got {len(values)}")
    return values


# ----------------------------------------------------------------------------- the ranking verdict


def _spearman(per_example: pd.DataFrame, population: pd.DataFrame, seeds: Sequence) -> float:
    """Spearman rho of the methods' means over ``seeds`` (a resample: repeats count) of the two metrics."""
    a = per_example.loc[:, list(seeds)].mean(axis=1)
    b = population.loc[a.index, list(seeds)].abs().mean(axis=1)
    if a.nunique() < 2 or b.nunique() < 2:
        return np.nan
    return float(stats.spearmanr(a, b).statistic)


def ranking_table(attack_rows: pd.DataFrame, results: pd.DataFrame, *, failing: Mapping | None = None) -> pd.DataFrame:
    """Per dataset: rho with its bootstrap interval and class (see :data:`PER_EXAMPLE_CLAIM`),
    the methods counted and the failing ones. ``results``: the main-table experiment rows (with
    ``gap_mia_efficacy``); ``failing``: ``{(dataset, method): (failed, runs)}`` of those runs."""
    failing = dict(failing or {})
    out = []
    for dataset, rows in attack_rows.groupby("dataset", sort=False):
        counted, failed = [], {}
        for method, group in rows.groupby("method", sort=False):
            if method in REFERENCES:
                continue
            unlearning = failing.get((dataset, method), (0, 0))
            attack_failed = int((~_ok(group)).sum())
            if unlearning[0] > 0:
                failed[f"{dataset}: {method} (unlearning)"] = tuple(unlearning)
            elif attack_failed:
                failed[f"{dataset}: {method} (attack)"] = (attack_failed, len(group))
            else:
                counted.append(method)
        tpr = rows[rows.method.isin(counted)].pivot_table(index="method", columns="seed", values=RANK_METRIC)
        main = results[(results.dataset == dataset) & results.method.isin(counted)]
        mia = main.pivot_table(index="method", columns="seed", values=POPULATION_METRIC)
        seeds = sorted(set(tpr.columns) & set(mia.columns))
        tpr, mia = tpr.loc[:, seeds].dropna(), mia.loc[:, seeds]
        mia = mia.loc[mia.index.intersection(tpr.index)].dropna()
        tpr = tpr.loc[mia.index]
        rho, low, high = np.nan, np.nan, np.nan
        if len(tpr) >= MIN_METHODS and len(seeds) >= 2:
            rho = _spearman(tpr, mia, seeds)
            rng = np.random.default_rng(BOOTSTRAP_SEED)
            draws = np.array([_spearman(tpr, mia, rng.choice(seeds, size=len(seeds), replace=True)) for _ in range(BOOTSTRAP)])
            draws = draws[np.isfinite(draws)]
            if len(draws):
                low, high = (float(v) for v in np.percentile(draws, [2.5, 97.5]))
        verdict = (ALIKE if low > 0 else UNLIKE if high < STRONG_RHO else UNDETERMINED) if np.isfinite(low) else UNDETERMINED
        out.append({"dataset": dataset, "rho": rho, "ci_low": low, "ci_high": high, "n_methods": len(tpr), "n_seeds": len(seeds),
                    "verdict": verdict, "methods_counted": ", ".join(tpr.index), "failed": failed})
    return pd.DataFrame(out)


def judge_ranking(ranking: pd.DataFrame) -> dict:
    """The study's verdict row on :data:`PER_EXAMPLE_CLAIM` from :func:`ranking_table`."""
    from .paper import verdict_row  # paper registers PER_EXAMPLE_CLAIM among the study's claims

    classes = list(ranking["verdict"]) if len(ranking) else []
    if classes and all(c == ALIKE for c in classes):
        verdict = "agree"
    elif classes and all(c == UNLIKE for c in classes):
        verdict = "disagree"
    elif ALIKE in classes and UNLIKE in classes:
        verdict = "mixed"
    else:
        verdict = "inconclusive"
    finite = ranking[np.isfinite(ranking["rho"].to_numpy(dtype=float))] if len(ranking) else ranking
    low = finite.loc[finite["rho"].idxmin()] if len(finite) else None
    failed = {k: v for f in ranking.get("failed", []) for k, v in f.items()}
    return verdict_row(PER_EXAMPLE_CLAIM["key"], verdict, estimate=low["rho"] if low is not None else np.nan,
                       ci_low=low["ci_low"] if low is not None else np.nan, ci_high=low["ci_high"] if low is not None else np.nan,
                       counted=[f"{r.dataset}: {r.methods_counted}" for r in ranking.itertuples() if r.methods_counted],
                       estimate_label=f"{low['dataset']}: {PER_EXAMPLE_CLAIM['estimate_label']}" if low is not None else None,
                       failing=failed, margin=f"strong association: rho {STRONG_RHO}",
                       margin_reason="a declared convention (a rank correlation of 0.5 or more is strong), not a noise floor")
