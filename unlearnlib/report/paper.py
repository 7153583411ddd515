"""The paper this study reproduces, as plain data: its setting, its claims quoted word for word,
for each claim how we read it and the rule that turns the statistics into a verdict, declared
before the numbers; and the verdict rows as data.

Nasirigerdeh, Razmi, Schnabel, Rueckert & Kaissis, "Machine Unlearning for Medical
Imaging" (2024). Its record (title, findings list, abstract) is :data:`SEED_RECORD`; each
claim's ``quote`` is copied from it (``source`` "abstract" or "findings list"; "..." where
words are cut), or from the secondary summaries where the record lacks the words (``source``
"secondary summaries"; the record's abstract stops at "easy or…"). ``reading`` says what the
words mean operationally. A verdict is one of :data:`VERDICTS`, computed by a ``judge_*``
function of :mod:`unlearnlib.report.paper_rules`, never typed; each analysis notebook writes its rows
to ``figures/NN_verdicts.csv`` (:func:`write_notebook_verdicts`), :func:`collect_verdicts`
gathers them, :func:`write_verdicts` writes ``figures/verdicts.csv`` (one row per claim) and
:func:`summary_table` is the table a reviewer skims.

Equivalence margins are never held here: the rules take them as arguments (the noise floor's
table, :mod:`unlearnlib.evaluation.floor_margins`), and a margin's reason is built from that table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation import stats as report
from ..evaluation.failures import describe_failing
from .per_example_verdict import PER_EXAMPLE_CLAIM
from .relearn_verdict import RELEARNING_CLAIM, RELEARNING_HARD_CLAIM

CITATION = ("R. Nasirigerdeh, N. Razmi, J. A. Schnabel, D. Rueckert, G. Kaissis. "
            "Machine Unlearning for Medical Imaging. 2024.")
SEED_RECORD = "../shared/seeds/000_0ff790d4e509f089.txt"  # the paper's record, relative to the project root

# Secondary accounts of the paper agree on its datasets; this study uses what the offline mirror holds.
SETTING = {
    "paper": "TissueMNIST and CheXpert, ResNet classifiers (as two secondary accounts report)",
    "study": "HAM10000 dermoscopy (split by lesion) and BreastMNIST, offline; a small timm ResNet (see README, Profiles)",
}

VERDICTS = ("agree", "disagree", "mixed", "inconclusive")
SOURCES = ("abstract", "findings list", "secondary summaries", "this study")
ALPHA = 0.05  # every test of a verdict rule, one- or two-sided
TOST_LEVEL = 0.90  # TOST at alpha 0.05 is the 90 % interval lying inside the margin
T_LEVEL = 0.95  # a two-sided paired t-test at alpha 0.05
COST_THRESHOLD = 1.0  # retrains: tuning that costs more than the retraining unlearning is meant to avoid is "a lot"
OBJECTIVE_RETRAINS = 1.0  # the retrain the tuning objective (the gap to a retrain) needs, counted in the tuning cost

_COUNTED = ("Counted: the approximate methods without a failed run in the runs compared (unlearnlib.evaluation.failures: damaged, or "
            "did nothing, its forget accuracy and MIA-efficacy within the noise floor of the original's); a method with "
            "failed runs is reported as failing k of n runs and with which kind of failure, never for or against the claim. ")
_MARGIN = ("Margins: the noise floor of each metric on the dataset (as close as a second retrain from an independent "
           "initialisation on the same forget set is), handed to the rule as an argument; the verdict row gives each margin "
           "and its reason from the noise floor's table. ")
_CLASSIFY = ("equivalent when the 90 % t-interval lies inside ± the margin (TOST, alpha 0.05); else different when the "
             "two-sided paired t-test is significant after Holm over {family} (alpha 0.05), by its sign; else undetermined. ")
_PER_METHOD = ("Per counted method, the average gap to retrain of the two arms, paired over seeds: "
               + _CLASSIFY.format(family="the approximate methods (failing ones included)"))
_NO_DIFFERENCE = ("agree: every counted method equivalent; disagree: some differ and none is equivalent; mixed: some differ "
                  "and some are equivalent; inconclusive otherwise (an undetermined method, or none counted). ")
_FURTHEST = "Estimate: the counted method whose {level} interval reaches furthest from 0 (its difference and interval)."

FINDINGS: list[dict] = [
    {
        "key": "retain_forget",
        "finding": "Retain / forget performance",
        "quote": ("Our evaluations demonstrate that the considered unlearning algorithms perform well on the retain set "
                  "(samples whose influence on the model is allowed to be retained) and forget set (samples whose "
                  "contribution to the model should be eliminated)"),
        "source": "abstract",
        "reading": ("A method performs well when its retain accuracy and its forget accuracy are each as close to the same "
                    "seed's retrain as a second retrain is (equivalent within the noise floor)."),
        "notebook": "02",
        "margin_metrics": ("retain_acc", "forget_acc"),
        "interval_level": TOST_LEVEL,
        "estimate_label": "counted method and metric furthest from retrain, minus the same seed's retrain",
        "rule": ("Per dataset and counted method, its retain accuracy and its forget accuracy, each minus the same seed's "
                 "retrain's, paired over seeds; per metric: " + _CLASSIFY.format(
                     family="the dataset's approximate methods x the 2 metrics (failing ones included)") +
                 "A method performs well when both metrics are equivalent, does not when either differs, else is "
                 "undetermined. Per dataset: agree when more than half of the counted methods perform well and none does "
                 "not; disagree when more than half do not perform well and none performs well; mixed when some perform "
                 "well and some do not; inconclusive otherwise (none counted, or too many undetermined for either). Over "
                 "datasets: their common verdict; mixed when they differ and at least one is agree, disagree or mixed; "
                 "else inconclusive. " + _COUNTED + _MARGIN + _FURTHEST.format(level="90 %")),
    },
    {
        "key": "sex_bias",
        "finding": "Sex bias",
        "quote": "Our evaluations demonstrate that the considered unlearning algorithms ... show no bias against male or female samples.",
        "source": "abstract",
        "reading": ("Forgetting a male-only or a female-only request leaves a method equally close to retraining: the average "
                    "gap to retrain of the two requests is equivalent within the noise floor."),
        "notebook": "04",
        "margin_metrics": ("avg_gap",),
        "interval_level": TOST_LEVEL,
        "estimate_label": "male-only minus female-only average gap, furthest counted method",
        "rule": ("Arms: male-only and female-only requests. " + _PER_METHOD + _NO_DIFFERENCE + _COUNTED + _MARGIN
                 + _FURTHEST.format(level="90 %")),
    },
    {
        "key": "forget_size",
        "finding": "Forget-set size",
        "quote": "They, however, adversely impact the generalization of the model, especially for larger forget set sizes.",
        "source": "abstract",
        "reading": ("The unlearning algorithms lose more test accuracy than retraining does as the forget set grows from the "
                    "smallest to the largest size (retraining loses some: it has less data)."),
        "notebook": "03",
        "margin_metrics": ("test_acc",),
        "interval_level": T_LEVEL,
        "estimate_label": "extra test-accuracy drop over retrain's, smallest to largest size, furthest counted method",
        "rule": ("Per counted method and seed, its test-accuracy drop from the smallest to the largest forget size minus the "
                 "same seed's retrain drop (the extra drop), paired over the curve's end seeds: "
                 + _CLASSIFY.format(family="the approximate methods (failing ones included)") +
                 "agree when more than half of the counted methods lose significantly more than retraining (a positive "
                 "difference); disagree when none does and more than half are equivalent; mixed when some lose more and "
                 "some are equivalent or lose less, and not agree; inconclusive otherwise (none counted, or too many "
                 "undetermined). Retrain's own drop is reported beside it as context, not judged. " + _COUNTED + _MARGIN
                 + _FURTHEST.format(level="95 %")),
    },
    {
        "key": "difficulty",
        "finding": "Easy / hard samples",
        "quote": "Moreover, they might be biased against easy or…",
        "source": "abstract",
        "completion": ("hard samples", "secondary summaries"),  # the record stops at "easy or…"
        "reading": ("A method is biased when its average gap to each stratum's own retrain differs between hard and easy "
                    "forget sets, in either direction (hard minus easy above 0: against hard samples; below: against easy)."),
        "notebook": "05",
        "margin_metrics": ("avg_gap",),
        "interval_level": T_LEVEL,
        "estimate_label": "hard minus easy average gap to each stratum's retrain, furthest counted method",
        "rule": ("Arms: forget sets drawn per seed from the most and the least memorized fifth of each diagnosis's lesions. "
                 "Per counted method, the average gap to retrain hard minus easy, paired over seeds: "
                 + _CLASSIFY.format(family="the approximate methods (failing ones included)") +
                 "Biased against hard samples when different and positive, against easy ones when different and negative. "
                 "agree when more than half of the counted methods are biased (either direction); disagree when more than "
                 "half are equivalent and none is biased; mixed when some are biased and some equivalent, and not agree; "
                 "inconclusive otherwise. Secondary, declared and not in the verdict: the share of the original's gap each "
                 "method closes per stratum, (original's average gap - method's) / original's, hard minus easy, paired "
                 "(the original is further from retrain on hard sets, so raw gaps partly measure how much there is to "
                 "forget). " + _COUNTED + _MARGIN + _FURTHEST.format(level="95 %")),
    },
    {
        "key": "tuning_cost",
        "finding": "Hyper-parameter tuning",
        "quote": "the methods need additional computational overhead for hyper-parameter tuning",
        "source": "secondary summaries",
        "reading": ("Tuning a method costs at least as much compute as the retraining unlearning is meant to avoid, counting "
                    "the retrain its tuning objective (the gap to a retrain) needs."),
        "notebook": "06",
        "margin_metrics": (),
        "interval_level": np.nan,
        "estimate_label": "median tuning cost in retrains, with the objective's retrain, lower dataset",
        "rule": (f"Per dataset, the median over the tunable methods of the tuning cost in retrains of the same forget set: "
                 f"(the tuning trials' compute + the {OBJECTIVE_RETRAINS:g} retrain the retrain objective compares with) / one "
                 f"retrain, at the profile's trials. agree: at least {COST_THRESHOLD:g} retrain on every dataset (tuning costs "
                 f"more than the retraining unlearning is meant to avoid); disagree: below it on every dataset; mixed "
                 f"otherwise; inconclusive without tuning rows. The median without the objective's retrain is reported beside "
                 f"it, not judged. No interval: each cost is measured once. Estimate: the smaller of the datasets' medians. "
                 f"Counted: the tunable methods; tuning trials are not runs, so none is reported as failed."),
    },
]

# Beyond the paper: a claim of this study, judged like the paper's.
STUDY_CLAIMS: list[dict] = [
    {
        "key": "patient_level",
        "finding": "Whole lesions vs single images",
        "quote": "Drawing a request as whole lesions or as single images does not change a method's average gap to retrain.",
        "source": "this study",
        "reading": "The average gap to retrain of the two draws is equivalent within the noise floor.",
        "notebook": "08",
        "margin_metrics": ("avg_gap",),
        "interval_level": TOST_LEVEL,
        "estimate_label": "whole lesions minus single images average gap, furthest counted method",
        "rule": ("Arms: whole-lesion and image-level requests of the same share of train. " + _PER_METHOD + _NO_DIFFERENCE
                 + _COUNTED + _MARGIN + _FURTHEST.format(level="90 %")),
    },
    RELEARNING_CLAIM,  # notebook 07: judged by unlearnlib.report.relearn_verdict
    RELEARNING_HARD_CLAIM,  # notebook 05: the same rule on its hard sets
    PER_EXAMPLE_CLAIM,  # notebook 07: judged by unlearnlib.report.per_example_verdict
]


def claims() -> list[dict]:
    """The paper's findings, then this study's own claims."""
    return [*FINDINGS, *STUDY_CLAIMS]


def claim(key: str) -> dict:
    """The declared finding (or study claim) ``key``."""
    for item in claims():
        if item["key"] == key:
            return item
    raise KeyError(f"unknown finding {key!r}; declared: {[item['key'] for item in claims()]}")


def quoted(item: Mapping) -> str:
    """The quote as the report shows it; where the record stops short, the missing words and where they come from."""
    if "completion" not in item:
        return item["quote"]
    words, source = item["completion"]
    return f"{item['quote']} [the record stops here; {source}: \u201c{words}\u201d]"


def sourced(item: Mapping) -> str:
    """Where the quote comes from: ``"abstract"``, or ``"abstract; its end: secondary summaries"``."""
    return item["source"] + (f"; its end: {item['completion'][1]}" if "completion" in item else "")


def combine(verdicts: Sequence[str]) -> str:
    """One verdict over datasets: the common one; mixed when they differ and one is decisive."""
    verdicts = list(verdicts)
    if verdicts and all(v == verdicts[0] for v in verdicts):
        return verdicts[0]
    return "mixed" if any(v in ("agree", "disagree", "mixed") for v in verdicts) else "inconclusive"


# -- a finding's verdict row ----------------------------------------------------------------

VERDICT_COLUMNS = ("finding", "verdict", "quote", "source", "reading", "rule", "margin", "margin_reason", "estimate_label",
                   "estimate", "ci_low", "ci_high", "interval_level", "methods_counted", "methods_failed")
_REQUIRED = ("finding", "verdict", "estimate", "ci_low", "ci_high", "methods_counted", "methods_failed")  # older tables lack the rest


def verdict_row(key: str, verdict: str, *, estimate: float, ci_low: float, ci_high: float, counted: Sequence[str],
                failing: Mapping[str, tuple[int, int]] | str, estimate_label: str | None = None, interval_level: float | None = None,
                margin: str = "", margin_reason: str = "") -> dict:
    """One row of a verdict table: the verdict with its quote, reading and declared rule, the
    margins used (``margin``, ``margin_reason``: :func:`floor_margins.describe`), the labelled
    estimate with its interval and that interval's level, the methods counted and failing."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    declared = claim(key)
    return {"finding": key, "verdict": verdict, "quote": quoted(declared), "source": sourced(declared),
            "reading": declared["reading"], "rule": declared["rule"], "margin": margin, "margin_reason": margin_reason,
            "estimate_label": estimate_label or declared["estimate_label"], "estimate": float(estimate),
            "ci_low": float(ci_low), "ci_high": float(ci_high),
            "interval_level": float(declared["interval_level"] if interval_level is None else interval_level),
            "methods_counted": ", ".join(counted) if counted else "none",
            "methods_failed": failing if isinstance(failing, str) else describe_failing(failing)}


def verdict_line(row: Mapping) -> str:
    """The notebook's "**Verdict:** ..." line for a verdict row (the HTML report reads it)."""
    declared = claim(row["finding"])
    level = "" if pd.isna(row.get("interval_level", np.nan)) else f"{row['interval_level'] * 100:.0f} % "
    interval = "" if pd.isna(row["ci_low"]) else f" [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}] ({level}interval)"
    estimate = ("no estimate (no method counted)" if pd.isna(row["estimate"]) else
                f"{row.get('estimate_label') or declared['estimate_label']}: {row['estimate']:+.3f}{interval}")
    margin = f"; margins {row['margin']}" if str(row.get("margin", "") or "").strip() else ""
    return (f"**Verdict:** {row['verdict']} ({declared['finding']}: \u201c{quoted(declared)}\u201d) — {estimate}{margin}; "
            f"counted: {row['methods_counted']}; failing: {row['methods_failed']}.")


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
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"{source} lacks the columns {missing}; a verdict table has {list(VERDICT_COLUMNS)}")
    bad = sorted(set(table["verdict"]) - set(VERDICTS))
    if bad:
        raise ValueError(f"{source} holds verdicts {bad}; allowed: {list(VERDICTS)}")


def _completed(table: pd.DataFrame) -> pd.DataFrame:
    """A table written before a column existed gets it from the declaration (quote, source, reading,
    rule, estimate label, interval level) or empty."""
    table = table.copy()
    declared = {item["key"]: item for item in claims()}
    fill = {"quote": quoted, "source": sourced, "reading": lambda i: i["reading"], "rule": lambda i: i["rule"],
            "estimate_label": lambda i: i["estimate_label"], "interval_level": lambda i: i["interval_level"]}
    for column in VERDICT_COLUMNS:
        if column not in table:
            make = fill.get(column)
            table[column] = [make(declared[k]) if make and k in declared else np.nan for k in table["finding"]]
    return table[list(VERDICT_COLUMNS)]


def collect_verdicts(figures_dir) -> pd.DataFrame:
    """Every ``NN_verdicts.csv`` in ``figures_dir``, in notebook order, as one table."""
    tables = []
    for path in sorted(Path(figures_dir).glob("[0-9][0-9]_verdicts.csv")):
        table = pd.read_csv(path)
        _check(table, str(path))
        tables.append(_completed(table))
    if not tables:
        return pd.DataFrame(columns=list(VERDICT_COLUMNS))
    return pd.concat(tables, ignore_index=True)


def write_verdicts(figures_dir) -> Path:
    """Write ``figures_dir/verdicts.csv``: :func:`collect_verdicts` of that folder, one row per claim."""
    target = Path(figures_dir) / "verdicts.csv"
    table = collect_verdicts(figures_dir)
    repeated = sorted(table.loc[table["finding"].duplicated(), "finding"].unique())
    if repeated:
        raise ValueError(f"claims judged twice: {repeated}; verdicts.csv holds one row per claim")
    table.to_csv(target, index=False)
    return target


SUMMARY_COLUMNS = ("key", "finding", "quote", "source", "verdict", "estimate_label", "estimate", "ci_low", "ci_high", "interval_level")


def summary_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The table a reviewer skims: one row per claim with its short name, the quote and its
    source, the verdict, what the estimate is, the estimate and the interval its test uses with
    that interval's level (90 % for TOST, 95 % otherwise). Rows in declaration order, claims not
    declared here (a verdict another module declares) after them."""
    table = _completed(verdicts) if len(verdicts) else pd.DataFrame(columns=list(VERDICT_COLUMNS))
    order = {item["key"]: i for i, item in enumerate(claims())}
    table = table.assign(_order=[order.get(k, len(order)) for k in table["finding"]]).sort_values("_order", kind="stable")
    names = {item["key"]: item["finding"] for item in claims()}
    out = table.assign(key=table["finding"], finding=[names.get(k, k) for k in table["finding"]])
    return out[list(SUMMARY_COLUMNS)].reset_index(drop=True)
