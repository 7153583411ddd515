"""What the relearning attack changes, judged against what it changes after retraining (issue 33, item 8).

The tested quantity, per ledger row (:func:`unlearnlib.kinds.relearn.run_relearning`), on the forget images
the attack did not see:

- ``attack_change``: the method's forget accuracy after the attack minus before it;
- ``retrain_attack_change``: the same seed's retrained model's, under the same attack;
- ``excess_change`` = ``attack_change`` - ``retrain_attack_change``: what the attack gives back
  beyond what it gives a model that never saw the forget set.

The level after the attack (issue 21's :func:`relearning_table`) mixes what unlearning left
behind with what the attack restores: a method already far above retraining "recovers" even when
the attack lowers its forget accuracy. The change does not. :func:`relearning_change_table` pairs
the excess change over seeds per (dataset, forget set, k, method); :func:`judge_relearning` turns
it into the study's verdict on :data:`RELEARNING_CLAIM`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..evaluation import floor_margins, stats as report
from ..evaluation.failures import describe_failing
from ..kinds.relearn import RELEARN_KS

ALPHA = 0.05  # every test here, as every verdict rule of unlearnlib.report.paper
REFERENCES = ("original", "retrain")  # shown for context, never counted: retrain's excess change is 0 by construction
# Forget accuracy within 0.05 of the relearned retrain's counts as "the same" (issue 21's level verdict):
# about two seed-to-seed sds of the retrain's own forget accuracy (0.026 on HAM10000 and 0.043 on
# BreastMNIST at 10 %, 3 images of 55) and a fifth of the distance unlearning must cover (the
# original's 0.99 to the retrain's 0.73 on HAM10000). The change-based verdict uses it only as a
# fallback, until the study passes the measured noise floor of forget accuracy (issue 33, item 2).
SURVIVAL_MARGIN = 0.05

MORE, LIKE, LESS, UNDETERMINED = ("recovers more than retraining", "changes like retraining", "recovers less than retraining",
                                  "undetermined")
CLASSES = (MORE, LIKE, LESS, UNDETERMINED)

RELEARNING_CLAIM: dict = {
    "key": "relearning",
    "finding": "Relearning attack",
    "quote": "After unlearning, a relearning attack restores no more forget accuracy than it restores after retraining.",
    "source": "this study",
    "reading": ("The attack's change in forget accuracy after a method, minus its change after the same seed's retrain, is "
                "equivalent to none within the noise floor of forget accuracy, or below it."),
    "notebook": "07",
    "margin_metrics": ("forget_acc",),
    "interval_level": 0.95,
    "estimate_label": "excess change in forget accuracy under the attack (method minus retrain), largest counted",
    "rule": (
        f"The attack fine-tunes each model on a fixed random part of its retain set plus k forget images (k in "
        f"{', '.join(map(str, RELEARN_KS))}); forget accuracy is measured on the forget images the attack did not see. Per "
        f"dataset, forget set, k and counted method: the method's forget accuracy after the attack minus before, minus the "
        f"same seed's retrain's change under the same attack (the excess change), paired over seeds. '{LIKE}': both "
        f"one-sided tests reject an excess change beyond the margin (TOST, alpha {ALPHA}: the 90 % interval lies inside "
        f"the margin, the noise floor of forget accuracy on that dataset); '{MORE}': the two-sided paired t-test is "
        f"significant after Holm over the approximate methods of that dataset, forget set and k (alpha {ALPHA}) and the "
        f"mean excess change exceeds the margin; '{LESS}': likewise below minus the margin; else '{UNDETERMINED}'. agree: "
        f"no counted comparison recovers more and each changes like retraining or recovers less (the claim says 'no "
        f"more'); disagree: some recover more and none changes like retraining or less; mixed: some recover more and some "
        f"change like retraining or less; inconclusive otherwise (or none counted). Counted: the approximate methods "
        f"without a failed run (an unlearning run failing the rule of unlearnlib.evaluation.failures, or an attack that diverged); a "
        f"failing method is reported with its failed runs of all, never counted. Estimate: the counted comparison with the "
        f"largest mean excess change (95 % t-interval)."),
}

# The same sentence and rule on notebook 05's hard forget sets (the most memorized lesions, where the reference
# attack, shoaibahmed/vision_relearning, forgets), judged apart from the main table's random sets (issue 33, item 8).
RELEARNING_HARD_CLAIM: dict = RELEARNING_CLAIM | {
    "key": "relearning_hard",
    "finding": "Relearning attack, most memorized images",
    "reading": RELEARNING_CLAIM["reading"] + " Here on the hard forget sets: the lesions the original memorized most.",
    "notebook": "05",
    # The rule is stated once, in RELEARNING_CLAIM (the report's methods section shows each rule once).
    "rule": ("The rule of 'Relearning attack' (above), applied to notebook 05's hard forget sets instead of the main "
             "table's random ones: the same attack, excess change, margin, tests and verdict; counted: the approximate methods none of "
             "whose hard-set runs failed."),
}


# ----------------------------------------------------------------------------- the change table


def _keys(rows: pd.DataFrame) -> list[str]:
    """A comparison's identity: dataset, forget set (scenario and its parameters), k, method."""
    params = [c for c in rows.columns if c.startswith("scenario_")]
    return ["dataset", "scenario", *params, "k_forget", "method"]


def classify(*, difference: float, p_adjusted: float, p_equivalence: float, margin: float, alpha: float = ALPHA) -> str:
    """One comparison's class (see :data:`RELEARNING_CLAIM`'s rule): equivalence first, then a
    significant excess change beyond the margin, by its sign."""
    if pd.notna(p_equivalence) and p_equivalence < alpha:
        return LIKE
    if pd.notna(p_adjusted) and p_adjusted < alpha and abs(difference) > margin:
        return MORE if difference > 0 else LESS
    return UNDETERMINED


def relearning_change_table(rows: pd.DataFrame, *, margin: float | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """Per (dataset, forget set, k, method), in the order first seen: mean forget accuracy
    before and after the attack (the method's and the retrain's), ``attack_change``,
    ``retrain_attack_change``, their paired difference ``excess_change`` over seeds with its
    95 % (``ci_low``/``ci_high``) and 90 % (``ci90_low``/``ci90_high``, TOST's) t-intervals,
    ``p_value`` (paired t-test against 0), ``p_adjusted`` (Holm over the approximate methods of
    one dataset, forget set and k), ``p_equivalence`` (TOST within ``margin``), ``n_seeds``
    (rows counted), ``failed_runs`` of ``runs`` (rows whose attack did not finish: reported, not
    counted), and ``verdict`` (:func:`classify`). ``margin``: the study's measured noise floor of
    forget accuracy; None falls back to :data:`SURVIVAL_MARGIN` (``margin_source`` says which)."""
    source = "given" if margin is not None else "fallback: relearn_verdict.SURVIVAL_MARGIN (no measured noise floor passed)"
    margin = SURVIVAL_MARGIN if margin is None else float(margin)
    rows = rows.assign(k_forget=rows["k_forget"].fillna(0).astype(int) if "k_forget" in rows else 0)
    rows = rows.assign(attack_change=rows["relearn_forget_acc"] - rows["forget_acc_before"],
                       retrain_attack_change=rows["retrain_relearn_forget_acc"] - rows["retrain_forget_acc_before"])
    rows = rows.assign(excess_change=rows["attack_change"] - rows["retrain_attack_change"])
    counted = (rows["status"].astype(str) == "ok") & np.isfinite(rows["excess_change"].to_numpy(dtype=float))
    keys = _keys(rows)
    out = []
    for key, group in rows.groupby(keys, sort=False, dropna=False):
        ok = group[counted.loc[group.index]]
        diff = ok["excess_change"].to_numpy(dtype=float)
        mean, half, p = report._one_sample_t(diff, 0.95)
        _, half90, _ = report._one_sample_t(diff, 0.90)
        out.append({
            **dict(zip(keys, key)),
            **{c: ok[c].mean() for c in ("forget_acc_before", "relearn_forget_acc", "retrain_forget_acc_before",
                                         "retrain_relearn_forget_acc", "attack_change", "retrain_attack_change")},
            "forget_unseen": (ok["forget_size"] - ok["k_forget"]).mean(),
            "excess_change": mean, "ci_low": mean - half, "ci_high": mean + half, "ci90_low": mean - half90, "ci90_high": mean + half90,
            "p_value": p, "p_equivalence": report.tost_p_value(diff, margin), "n_seeds": len(diff),
            "failed_runs": int(len(group) - len(ok)), "runs": len(group), "margin": margin, "margin_source": source,
        })
    table = pd.DataFrame(out)
    if table.empty:
        return table
    family = keys[:-1]
    tested = ~table["method"].isin(REFERENCES)
    table["p_adjusted"] = np.nan
    for _, part in table[tested].groupby(family, sort=False, dropna=False):
        table.loc[part.index, "p_adjusted"] = report.adjust_p_values(part["p_value"], "holm")
    table["verdict"] = [
        "reference (0 by construction)" if r.method == "retrain" else
        classify(difference=r.excess_change, p_adjusted=r.p_value if r.method == "original" else r.p_adjusted,
                 p_equivalence=r.p_equivalence, margin=margin, alpha=alpha)
        for r in table.itertuples()]
    return table


# ----------------------------------------------------------------------------- the verdict


def changes_within_floor(rows: pd.DataFrame, margins) -> pd.DataFrame:
    """:func:`relearning_change_table` per dataset of ``rows``, each with the noise floor of forget
    accuracy on that dataset as its margin (``margins``: ``noise_floor.margins``) and that margin's
    reason as ``margin_source`` (notebooks 05 and 07)."""
    parts = [relearning_change_table(part, margin=floor_margins.margin(margins, dataset, "forget_acc"))
             .assign(margin_source=floor_margins.reason(margins, dataset, "forget_acc"))
             for dataset, part in rows.groupby("dataset", sort=False)]
    return pd.concat(parts, ignore_index=True) if parts else relearning_change_table(rows)


def _label(row) -> str:
    return f"{row['dataset']} k={int(row['k_forget'])}: {row['method']}"


def judge_relearning(table: pd.DataFrame, *, failing: Mapping | None = None, claim: Mapping = RELEARNING_CLAIM) -> dict:
    """The study's verdict on ``claim`` (:data:`RELEARNING_CLAIM`, or :data:`RELEARNING_HARD_CLAIM` on
    05's hard sets) from :func:`relearning_change_table` rows: a verdict row (the columns of
    ``paper.VERDICT_COLUMNS``). ``failing``: the attacked
    unlearning runs' failures, ``{(dataset, method): (failed, runs)}`` or ``{method: (failed, runs)}``
    (``study_plots.failing_by`` of the experiment rows with ``failures.with_damage``): such a
    method is not counted, nor one whose attack failed in a run."""
    failing = dict(failing or {})
    tested = table[~table["method"].isin(REFERENCES)] if len(table) else table
    failed, counted = {}, []
    for _, row in tested.iterrows():
        unlearning = failing.get((row["dataset"], row["method"]), failing.get(row["method"], (0, 0)))
        if unlearning[0] > 0:
            failed[f"{row['dataset']}: {row['method']} (unlearning)"] = tuple(unlearning)
        elif row["failed_runs"] > 0:
            failed[_label(row) + " (attack)"] = (int(row["failed_runs"]), int(row["runs"]))
        else:
            counted.append(row)
    classes = [r["verdict"] for r in counted]
    more, no_more = classes.count(MORE), classes.count(LIKE) + classes.count(LESS)
    if classes and no_more == len(classes):
        verdict = "agree"
    elif more and not no_more:
        verdict = "disagree"
    elif more and no_more:
        verdict = "mixed"
    else:
        verdict = "inconclusive"
    top = max(counted, key=lambda r: r["excess_change"] if np.isfinite(r["excess_change"]) else -np.inf, default=None)
    estimate = {k: float(top[k]) if top is not None else np.nan for k in ("excess_change", "ci_low", "ci_high")}
    by_k: dict[str, list[str]] = {}
    for r in counted:
        by_k.setdefault(f"{r['dataset']} k={int(r['k_forget'])}", []).append(str(r["method"]))
    from .paper import verdict_row  # paper registers RELEARNING_CLAIM among the study's claims

    sources = sorted(set(table["margin_source"])) if len(table) and "margin_source" in table else []
    return verdict_row(claim["key"], verdict, estimate=estimate["excess_change"], ci_low=estimate["ci_low"],
                       ci_high=estimate["ci_high"], failing=failed,
                       estimate_label=f"{_label(top)}: {claim['estimate_label']}" if top is not None else None,
                       counted=[f"{k}: {', '.join(dict.fromkeys(m))}" for k, m in by_k.items()],
                       margin=", ".join(f"{d}: ±{v:.3g}" for d, v in table.groupby("dataset", sort=False)["margin"].first().items())
                       if len(table) else "", margin_reason="; ".join(sources))


def verdict_line(row: Mapping) -> str:
    """The notebook's "**Verdict:** ..." line for :func:`judge_relearning`'s row (``paper.verdict_line``)."""
    from .paper import verdict_line as paper_line

    return paper_line(row)


def class_counts(table: pd.DataFrame, by: Sequence[str] = ("dataset", "k_forget")) -> pd.DataFrame:
    """How many approximate methods fall in each class per ``by`` group (a compact summary)."""
    tested = table[~table["method"].isin(REFERENCES)]
    counts = tested.groupby([*by, "verdict"], sort=False).size().unstack("verdict", fill_value=0)
    return counts.reindex(columns=[c for c in CLASSES if c in counts.columns]).reset_index()


# ----------------------------------------------------------------------------- issue 21's level verdict (notebook 03)


def relearning_verdict(ci_low: float, ci_high: float, margin: float = SURVIVAL_MARGIN) -> str:
    """What the 95 % interval of the level gap (method minus relearned retrain, after the attack) says."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "too few seeds"
    if -margin <= ci_low and ci_high <= margin:
        return "survives relearning"
    if ci_low > margin:
        return "recovers under relearning"
    if ci_high < -margin:
        return "below retrain after relearning"
    return "inconclusive"


def relearning_table(rows: pd.DataFrame, *, margin: float = SURVIVAL_MARGIN) -> pd.DataFrame:
    """Issue 21's level table, kept for notebook 03's size-curve ends: per dataset and method
    (order as first seen), mean forget accuracy before and after relearning, the relearned
    retrain's and original's, the paired level gap (per seed) with its 95 % t-interval
    (``ci_low`` / ``ci_high``), ``n_seeds`` and the verdict. Not the study's verdict: see
    :func:`relearning_change_table`."""
    out = []
    for (dataset, method), group in rows.groupby(["dataset", "method"], sort=False):
        gaps = group["relearn_gap"].to_numpy(dtype=float)
        low, high = report.t_interval(gaps)
        out.append({
            "dataset": dataset, "method": method,
            "forget_acc_before": group["forget_acc_before"].mean(),
            "relearn_forget_acc": group["relearn_forget_acc"].mean(),
            "retrain_relearn_forget_acc": group["retrain_relearn_forget_acc"].mean(),
            "original_relearn_forget_acc": group["original_relearn_forget_acc"].mean(),
            "relearn_test_acc": group["relearn_test_acc"].mean(),
            "difference": np.nanmean(gaps) if np.isfinite(gaps).any() else float("nan"),
            "ci_low": low, "ci_high": high,
            "n_seeds": int(np.isfinite(gaps).sum()),
            "margin": margin,
            "verdict": relearning_verdict(low, high, margin),
        })
    return pd.DataFrame(out)
