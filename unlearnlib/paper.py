"""The paper this study reproduces, as plain data: its setting, its five findings, and for
each finding the rule that turns the statistics into a verdict, declared before the numbers.

Nasirigerdeh, Razmi, Schnabel, Rueckert & Kaissis, "Machine Unlearning for Medical
Imaging" (2024). Each finding names the notebook that tests it. A verdict is one of
:data:`VERDICTS` and is computed by a ``judge_*`` function of this module from the
notebook's statistics, never typed; each analysis notebook writes its rows to
``figures/NN_verdicts.csv`` (:func:`write_notebook_verdicts`), :func:`collect_verdicts`
gathers them and :func:`write_verdicts` writes ``figures/verdicts.csv``.

"No difference" findings are judged by two one-sided tests (TOST) against a declared
equivalence margin: absence of a significant difference is not evidence of equivalence.
A method with failed runs (:mod:`unlearnlib.failures`) is never counted for or against a
finding: it is reported as failing in k of n runs (``methods_failed``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import report
from .failures import describe_failing, failing_methods

CITATION = ("R. Nasirigerdeh, N. Razmi, J. A. Schnabel, D. Rueckert, G. Kaissis. "
            "Machine Unlearning for Medical Imaging. 2024.")

# Secondary accounts of the paper agree on its datasets; this study uses what the offline mirror holds.
SETTING = {
    "paper": "TissueMNIST and CheXpert, ResNet classifiers (as two secondary accounts report)",
    "study": "HAM10000 dermoscopy (split by lesion) and BreastMNIST, offline; a small timm ResNet (see README, Profiles)",
}

VERDICTS = ("agree", "disagree", "mixed", "inconclusive")
VERDICT_COLUMNS = ("finding", "verdict", "rule", "margin", "estimate", "ci_low", "ci_high", "methods_counted", "methods_failed")
ALPHA = 0.05  # every test of a verdict rule, one- or two-sided

# One margin for the average gap to retrain and for the accuracies it averages.
GAP_MARGIN = 0.02
GAP_MARGIN_REASON = (
    "0.02 is below the smallest average gap to retrain any tuned method reaches in the main benchmark on HAM10000 "
    "(SalUn 0.029) and about twice the closest methods' seed-to-seed sd (0.008-0.010): a difference smaller than it "
    "cannot change which method comes closest to retraining, and 5 seeds could not tell it from seed noise")
DROP_MARGIN = 0.02
DROP_MARGIN_REASON = (
    "two points of test accuracy, under half of the original's lead over the majority-class rate on HAM10000 "
    "(0.715 against 0.669): a smaller change is not a loss of generalization that matters next to what the model learned")
COST_THRESHOLD = 1.0  # retrains: tuning that costs more than the retraining unlearning is meant to avoid is "a lot"

_COUNTED = ("Counted: the approximate methods without a failed run in the runs compared (unlearnlib.failures); "
            "a method with failed runs is reported as failing in k of n runs, never as equivalent or different. ")
_PER_METHOD = ("Per counted method, the average gap to retrain of the two arms, paired over seeds: equivalent when both "
               "one-sided tests reject a difference beyond the margin (TOST, alpha 0.05); different when the two-sided "
               "paired t-test is significant after Holm over the approximate methods and it is not equivalent; "
               "else undetermined. ")
_FURTHEST = "Estimate: the counted method whose 95 % interval reaches furthest from 0 (its difference and interval)."

FINDINGS: list[dict] = [
    {
        "key": "retain_forget",
        "finding": "Retain / forget performance",
        "claim": "Methods differ widely; none matches retraining on every metric.",
        "notebook": "02",
        "rule": ("Per dataset, each counted method's difference from the same seed's retrain in retain, forget and test "
                 "accuracy and MIA-efficacy, paired over seeds. It differs from retraining when at least one of the four "
                 "differs (paired t-test, Holm over the four, alpha 0.05); it matches when all four are equivalent within "
                 "the margin (TOST, alpha 0.05). agree: every counted method differs; disagree: a counted method matches; "
                 "inconclusive otherwise or when none is counted. Over datasets: their common verdict; mixed when they "
                 "differ and at least one is agree, disagree or mixed. " + _COUNTED +
                 "Estimate: the smallest mean average gap to retrain of a counted method (95 % t-interval)."),
        "margin": GAP_MARGIN,
        "margin_reason": "within 0.02 of retraining on each metric is closer than the best method's whole average gap; " + GAP_MARGIN_REASON,
    },
    {
        "key": "sex_bias",
        "finding": "Sex bias",
        "claim": "Unlearning shows no sex bias: forgetting male or female patients costs the same.",
        "notebook": "04",
        "rule": ("Arms: male-only and female-only requests. " + _PER_METHOD + "agree: every counted method equivalent; "
                 "disagree: some differ and none is equivalent; mixed: some differ and some are equivalent; inconclusive "
                 "otherwise (an undetermined method, or none counted). " + _COUNTED + _FURTHEST),
        "margin": GAP_MARGIN,
        "margin_reason": GAP_MARGIN_REASON,
    },
    {
        "key": "forget_size",
        "finding": "Forget-set size",
        "claim": "Generalization (test accuracy) drops for large forget sets.",
        "notebook": "03",
        "rule": ("The retrained model's test accuracy at the smallest minus the largest forget size, paired over seeds "
                 "(95 % t-interval; TOST against the margin). agree: the interval lies above 0 and the drop is not "
                 "equivalent to none; mixed: a significant drop that TOST shows to be within the margin; disagree: the "
                 "interval lies below 0, or TOST shows any change within the margin; inconclusive otherwise. "
                 "Counted: retrain, the reference the claim is about; a failed retrain run is reported."),
        "margin": DROP_MARGIN,
        "margin_reason": DROP_MARGIN_REASON,
    },
    {
        "key": "difficulty",
        "finding": "Hard samples",
        "claim": "Unlearning is harder on hard samples than on easy ones.",
        "notebook": "05",
        "rule": ("Arms: forget sets drawn per seed from the most and the least memorized fifth of each diagnosis's lesions. Per counted method, the average gap to retrain hard minus "
                 "easy, paired over seeds: equivalent by TOST within the margin; else harder or easier when the paired "
                 "t-test is significant after Holm over the approximate methods (by sign); else undetermined. agree: more "
                 "than half of the counted methods harder and none easier or equivalent; disagree: none harder and more "
                 "than half easier or equivalent; mixed: some harder and some easier or equivalent (the methods go both "
                 "ways); inconclusive otherwise. " + _COUNTED + _FURTHEST),
        "margin": GAP_MARGIN,
        "margin_reason": GAP_MARGIN_REASON,
    },
    {
        "key": "tuning_cost",
        "finding": "Hyper-parameter tuning",
        "claim": "Tuning the methods' hyper-parameters costs a lot of compute.",
        "notebook": "06",
        "rule": (f"The median tunable method's tuning cost in retrains of the same forget set (the retrain objective, the "
                 f"profile's trials), per dataset. agree: at least {COST_THRESHOLD:g} retrain on every dataset (tuning costs "
                 f"more than the retraining unlearning is meant to avoid); disagree: below it on every dataset; mixed "
                 f"otherwise. No interval: each cost is measured once. Estimate: the smallest of the datasets' medians. "
                 f"Counted: the tunable methods; tuning trials are not runs, so none is reported as failed."),
        "margin": math.nan,
        "margin_reason": "",
    },
]

# Beyond the paper: a claim of this study, judged like the paper's.
STUDY_CLAIMS: list[dict] = [
    {
        "key": "patient_level",
        "finding": "Whole lesions vs single images",
        "claim": "Drawing a request as whole lesions or as single images does not change a method's average gap to retrain.",
        "notebook": "08",
        "rule": ("Arms: whole-lesion and image-level requests of the same share of train. " + _PER_METHOD + "agree: every "
                 "counted method equivalent; disagree: some differ and none is equivalent; mixed: some differ and some "
                 "are equivalent; inconclusive otherwise. " + _COUNTED + _FURTHEST),
        "margin": GAP_MARGIN,
        "margin_reason": GAP_MARGIN_REASON,
    },
]


def claim(key: str) -> dict:
    """The declared finding (or study claim) ``key``."""
    for item in (*FINDINGS, *STUDY_CLAIMS):
        if item["key"] == key:
            return item
    known = [item["key"] for item in (*FINDINGS, *STUDY_CLAIMS)]
    raise KeyError(f"unknown finding {key!r}; declared: {known}")


# -- one method's comparison ------------------------------------------------------------------

def classify(row, *, alpha: float = ALPHA) -> str:
    """One method's paired comparison (a row of ``report.paired_difference(..., margin=...)``,
    ideally with ``p_adjusted``): ``"equivalent"`` when TOST passes, else ``"higher"`` or
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


def no_difference_verdict(classes: Sequence[str]) -> str:
    """agree when every method is equivalent; disagree when some differ and none is
    equivalent; mixed when some differ and some are equivalent; else inconclusive."""
    classes = list(classes)
    differ = sum(c in ("higher", "lower") for c in classes)
    equivalent = sum(c == "equivalent" for c in classes)
    if classes and equivalent == len(classes):
        return "agree"
    if differ and not equivalent:
        return "disagree"
    if differ and equivalent:
        return "mixed"
    return "inconclusive"


def harder_verdict(classes: Sequence[str]) -> str:
    """For "harder on hard samples" (differences hard minus easy): see the difficulty rule."""
    classes = list(classes)
    n = len(classes)
    harder = sum(c == "higher" for c in classes)
    not_harder = sum(c in ("lower", "equivalent") for c in classes)
    if n and harder > n / 2 and not not_harder:
        return "agree"
    if n and not harder and not_harder > n / 2:
        return "disagree"
    if harder and not_harder:
        return "mixed"
    return "inconclusive"


def drop_verdict(*, ci_low: float, ci_high: float, p_equivalence: float, alpha: float = ALPHA) -> str:
    """For "drops": see the forget-size rule."""
    dropped = ci_low > 0
    equivalent = pd.notna(p_equivalence) and p_equivalence < alpha
    if dropped:
        return "mixed" if equivalent else "agree"
    if ci_high < 0 or equivalent:
        return "disagree"
    return "inconclusive"


def combine(verdicts: Sequence[str]) -> str:
    """One verdict over datasets: the common one; mixed when they differ and one is decisive."""
    verdicts = list(verdicts)
    if verdicts and all(v == verdicts[0] for v in verdicts):
        return verdicts[0]
    return "mixed" if any(v in ("agree", "disagree", "mixed") for v in verdicts) else "inconclusive"


# -- a finding's verdict row ----------------------------------------------------------------

def verdict_row(key: str, verdict: str, *, estimate: float, ci_low: float, ci_high: float, counted: Sequence[str],
                failing: Mapping[str, tuple[int, int]] | str) -> dict:
    """One row of a verdict table, with the declared rule and margin of finding ``key``."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    declared = claim(key)
    return {"finding": key, "verdict": verdict, "rule": declared["rule"], "margin": declared["margin"],
            "estimate": float(estimate), "ci_low": float(ci_low), "ci_high": float(ci_high),
            "methods_counted": ", ".join(counted) if counted else "none",
            "methods_failed": failing if isinstance(failing, str) else describe_failing(failing)}


def _furthest(rows: pd.DataFrame) -> dict:
    if rows.empty:
        return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    reach = report.smallest_ruled_out(rows["ci_low"], rows["ci_high"]).fillna(np.inf)
    top = rows.loc[reach.idxmax()]
    return {"estimate": top["difference"], "ci_low": top["ci_low"], "ci_high": top["ci_high"]}


def _counted(differences: pd.DataFrame, failing: Mapping[str, tuple[int, int]], metric: str) -> pd.DataFrame:
    tested = differences[(differences["metric"] == metric) & ~differences["method"].isin(["original", "retrain"])]
    return tested[~tested["method"].isin(list(failing))]


def judge_no_difference(key: str, differences: pd.DataFrame, runs: pd.DataFrame, *, metric: str = "avg_gap") -> dict:
    """The verdict row of a "no difference" finding from the arms' paired differences
    (``report.paired_difference(..., margin=claim(key)['margin'])`` with ``p_adjusted``) and
    the compared arms' ledger rows ``runs`` (with ``failed``, ``failures.with_damage``)."""
    failing = failing_methods(runs[~runs["method"].isin(["original", "retrain"])])
    counted = _counted(differences, failing, metric)
    verdict = no_difference_verdict([classify(r) for _, r in counted.iterrows()])
    return verdict_row(key, verdict, **_furthest(counted), counted=list(counted["method"]), failing=failing)


def judge_harder(key: str, differences: pd.DataFrame, runs: pd.DataFrame, *, metric: str = "avg_gap") -> dict:
    """The verdict row of "harder on hard samples" from hard-minus-easy paired differences."""
    failing = failing_methods(runs[~runs["method"].isin(["original", "retrain"])])
    counted = _counted(differences, failing, metric)
    verdict = harder_verdict([classify(r) for _, r in counted.iterrows()])
    return verdict_row(key, verdict, **_furthest(counted), counted=list(counted["method"]), failing=failing)


def judge_drop(key: str, drop: Mapping, runs: pd.DataFrame) -> dict:
    """The verdict row of "drops for large forget sets" from retrain's paired drop (a row of
    ``report.paired_difference(..., margin=...)``) and retrain's runs at the two ends."""
    verdict = drop_verdict(ci_low=drop["ci_low"], ci_high=drop["ci_high"], p_equivalence=drop["p_equivalence"])
    if drop["pairs"] < 2:
        verdict = "inconclusive"
    return verdict_row(key, verdict, estimate=drop["difference"], ci_low=drop["ci_low"], ci_high=drop["ci_high"],
                       counted=["retrain"], failing=failing_methods(runs[runs["method"] == "retrain"]))


def judge_cost(key: str, median_costs: Mapping[str, float], tunable: Sequence[str]) -> dict:
    """The verdict row of "tuning costs a lot" from each dataset's median tuning cost in retrains."""
    costs = np.array(list(median_costs.values()), dtype=float)
    if not len(costs):
        verdict = "inconclusive"
    else:
        verdict = "agree" if (costs >= COST_THRESHOLD).all() else ("disagree" if (costs < COST_THRESHOLD).all() else "mixed")
    low = float(costs.min()) if len(costs) else np.nan
    return verdict_row(key, verdict, estimate=low, ci_low=np.nan, ci_high=np.nan, counted=list(tunable), failing={})


def judge_none_matches(key: str, versus_retrain: pd.DataFrame, runs: pd.DataFrame) -> tuple[dict, dict[str, str]]:
    """The verdict row of "none matches retraining on every metric", and each dataset's verdict.

    ``versus_retrain``: per (dataset, method, metric) the paired difference from retrain
    (``report.difference_from_reference(..., margin=...)``, Holm within each method's metrics);
    ``runs``: the tuned ledger rows (with ``failed`` and ``avg_gap``)."""
    per_dataset, counted_all, failing_all, closest = {}, [], {}, None
    for dataset, tests in versus_retrain.groupby("dataset", sort=False):
        part = runs[(runs["dataset"] == dataset) & ~runs["method"].isin(["original", "retrain"])]
        failing = failing_methods(part)
        tests = tests[~tests["method"].isin(["original", "retrain", *failing])]
        states = []
        for method, rows in tests.groupby("method", sort=False):
            classes = [classify(r) for _, r in rows.iterrows()]
            states.append("matches" if all(c == "equivalent" for c in classes) else
                          "differs" if any(c in ("higher", "lower") for c in classes) else "neither")
            gaps = part.loc[part["method"] == method, "avg_gap"]
            low, high = report.t_interval(gaps)
            if closest is None or gaps.mean() < closest["estimate"]:
                closest = {"estimate": float(gaps.mean()), "ci_low": low, "ci_high": high}
        per_dataset[dataset] = ("inconclusive" if not states else "disagree" if "matches" in states else
                                "agree" if all(s == "differs" for s in states) else "inconclusive")
        counted_all += [f"{dataset}: {m}" for m in dict.fromkeys(tests["method"])]
        failing_all.update({f"{dataset}: {m}": kn for m, kn in failing.items()})
    closest = closest or {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    row = verdict_row(key, combine(list(per_dataset.values())), **closest, counted=counted_all, failing=failing_all)
    return row, per_dataset


def verdict_line(row: Mapping) -> str:
    """The notebook's "**Verdict:** ..." line for a verdict row (the HTML report reads it)."""
    declared = claim(row["finding"])
    interval = "" if pd.isna(row["ci_low"]) else f" [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
    estimate = "no estimate (no method counted)" if pd.isna(row["estimate"]) else f"estimate {row['estimate']:+.3f}{interval}"
    margin = "" if pd.isna(row["margin"]) else f"; margin ±{row['margin']:g}"
    return (f"**Verdict:** {row['verdict']} ({declared['finding']}: {declared['claim']}) — {estimate}"
            f"{margin}; counted: {row['methods_counted']}; failing: {row['methods_failed']}.")


# -- verdicts as data -------------------------------------------------------------------------

def verdict_table(rows: Sequence[Mapping]) -> pd.DataFrame:
    """Verdict rows as a table with exactly :data:`VERDICT_COLUMNS`, checked."""
    table = pd.DataFrame(list(rows), columns=list(VERDICT_COLUMNS))
    _check(table, "the verdict rows")
    return table


def write_notebook_verdicts(rows: Sequence[Mapping], notebook: str) -> list[Path]:
    """``figures/<notebook>_verdicts.csv`` (and ``.md``), e.g. ``notebook="04"``."""
    if not (len(notebook) == 2 and notebook.isdigit()):
        raise ValueError(f"notebook must be a two-digit number such as '04'; got {notebook!r}")
    return report.write_table(verdict_table(rows), f"{notebook}_verdicts")


def _check(table: pd.DataFrame, source: str) -> None:
    missing = [c for c in VERDICT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{source} lacks the columns {missing}; a verdict table has {list(VERDICT_COLUMNS)}")
    bad = sorted(set(table["verdict"]) - set(VERDICTS))
    if bad:
        raise ValueError(f"{source} holds verdicts {bad}; allowed: {list(VERDICTS)}")


def collect_verdicts(figures_dir) -> pd.DataFrame:
    """Every ``NN_verdicts.csv`` in ``figures_dir``, in notebook order, as one table."""
    paths = sorted(Path(figures_dir).glob("[0-9][0-9]_verdicts.csv"))
    tables = []
    for path in paths:
        table = pd.read_csv(path)
        _check(table, str(path))
        tables.append(table[list(VERDICT_COLUMNS)])
    if not tables:
        return pd.DataFrame(columns=list(VERDICT_COLUMNS))
    return pd.concat(tables, ignore_index=True)


def write_verdicts(figures_dir) -> Path:
    """Write ``figures_dir/verdicts.csv``: :func:`collect_verdicts` of that folder."""
    target = Path(figures_dir) / "verdicts.csv"
    collect_verdicts(figures_dir).to_csv(target, index=False)
    return target
