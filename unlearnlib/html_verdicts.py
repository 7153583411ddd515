"""The report's verdicts, read as data from ``figures/verdicts.csv`` (``paper.collect_verdicts``).

- :func:`cover_table`: one line per finding (the paper's findings, then this study's claims):
  the claim, the verdict, one labelled estimate, links to the details and to the rule;
- :func:`verdict_detail`: the whole verdict row (estimate, interval, margin, the methods
  counted and those that failed), shown at the top of the finding's notebook section;
- the rules themselves appear once, in the methods section (``html_methods.rules_html``).
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from . import paper
from .html_tables import format_number

VERDICT_CLASSES = {"agree": "agree", "partly agree": "partly", "mixed": "partly", "disagree": "disagree", "inconclusive": "partly"}

# What each finding's estimate is (its rule in unlearnlib.paper says how it is chosen).
ESTIMATE_LABELS = {
    "retain_forget": "closest counted method's average gap to retrain",
    "sex_bias": "male minus female average gap, furthest counted method",
    "forget_size": "retrain's test-accuracy drop, smallest minus largest size",
    "difficulty": "hard minus easy average gap, furthest counted method",
    "tuning_cost": "median tuning cost in retrains, lower dataset",
    "patient_level": "whole lesions minus single images average gap, furthest counted method",
    # relearn_verdict.RELEARNING_CLAIM, once unlearnlib.paper registers it
    "relearning": "excess change in forget accuracy under the attack (method minus retrain), largest counted",
}


def claims() -> list[dict]:
    """The paper's findings, then this study's own claims, as ``unlearnlib.paper`` declares them."""
    return [*paper.FINDINGS, *paper.STUDY_CLAIMS]


def verdict_files(figures: Path) -> list[Path]:
    """``figures/verdicts.csv`` when it exists, else every ``figures/NN_verdicts.csv``."""
    whole = Path(figures) / "verdicts.csv"
    return [whole] if whole.exists() else sorted(Path(figures).glob("[0-9][0-9]_verdicts.csv"))


def study_verdicts(figures: Path) -> pd.DataFrame:
    """One row per finding the notebooks judged (columns as ``paper.collect_verdicts``);
    empty when no notebook wrote verdicts."""
    if not verdict_files(figures):
        return pd.DataFrame(columns=["finding", "verdict"])
    return paper.collect_verdicts(figures)


def verdicts_by_claim(verdicts: pd.DataFrame) -> dict[str, pd.Series]:
    """Declared claim key -> its verdict row; a row is matched by the claim's key or its name."""
    by_finding = {str(row["finding"]).strip().lower(): row for _, row in verdicts.iterrows()}
    found = {}
    for item in claims():
        row = by_finding.get(item["key"].lower(), by_finding.get(item["finding"].lower()))
        if row is not None:
            found[item["key"]] = row
    return found


def _present(row: pd.Series, column: str) -> bool:
    return pd.notna(row.get(column)) and str(row[column]).strip() != ""


def estimate_text(row: pd.Series) -> str:
    """``0.019 [-0.014, 0.052]``, the interval only when there is one; empty without an estimate."""
    if not _present(row, "estimate"):
        return ""
    interval = f" [{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]" if _present(row, "ci_low") else ""
    return f"{format_number(row['estimate'])}{interval}"


def _verdict_word(row: pd.Series) -> str:
    word = str(row["verdict"]).strip()
    return f"<td class='verdict {VERDICT_CLASSES.get(word.lower(), '')}'><b>{html.escape(word)}</b></td>"


def cover_table(verdicts: pd.DataFrame) -> str:
    """One line per declared finding: the claim, this study's verdict and labelled estimate, and links to
    the finding's details (its notebook's section) and its rule (the methods)."""
    found = verdicts_by_claim(verdicts)
    rows = []
    for item in claims():
        key, number = item["key"], item["notebook"]
        name = html.escape(item["finding"]) + ("" if item in paper.FINDINGS else " <span class='muted'>(this study's claim)</span>")
        row = found.get(key)
        if row is None:  # not judged (yet): point to the notebook instead
            study = f"<td>see <a href='#nb-{number}'>notebook {number}</a></td><td></td>"
            links = f"<a href='#nb-{number}'>notebook {number}</a> · <a href='#rule-{key}'>rule</a>"
        else:
            estimate = estimate_text(row)
            label = f"<span class='muted'>{html.escape(ESTIMATE_LABELS.get(key, 'estimate'))}:</span> " if estimate else ""
            study = f"{_verdict_word(row)}<td>{label}{estimate or '-'}</td>"
            links = f"<a href='#finding-{key}'>details</a> · <a href='#rule-{key}'>rule</a>"
        rows.append(f"<tr id='cover-{key}'><td>{name}</td><td>{html.escape(item['claim'])}</td>{study}<td class='more'>{links}</td></tr>")
    head = "<tr><th>finding</th><th>the paper (or this study) claims</th><th>verdict</th><th>estimate [95 % CI]</th><th>more</th></tr>"
    return f"<table class='paper'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def verdict_detail(item: dict, row: pd.Series) -> str:
    """The verdict row of the claim ``item`` in full, for its notebook's section."""
    key = item["key"]
    parts = []
    estimate = estimate_text(row)
    if estimate:
        parts.append(f"estimate ({html.escape(ESTIMATE_LABELS.get(key, 'estimate'))}): {estimate}")
    if _present(row, "margin"):
        parts.append(f"margin {format_number(row['margin'])}")
    for column, label in (("methods_counted", "methods counted"), ("methods_failed", "methods that failed")):
        if _present(row, column):
            parts.append(f"{label}: {html.escape(format_number(row[column]))}")
    word = str(row["verdict"]).strip()
    return (f"<div class='verdict-detail {VERDICT_CLASSES.get(word.lower(), '')}' id='finding-{key}'>"
            f"<b>{html.escape(item['finding'])}: {html.escape(word)}</b> on &ldquo;{html.escape(item['claim'])}&rdquo; "
            f"(<a href='#rule-{key}'>the rule</a>)<br>" + "; ".join(parts) + ".</div>")


def section_verdicts(number: str, verdicts: pd.DataFrame) -> str:
    """The verdict details of every claim that notebook ``number`` judges."""
    found = verdicts_by_claim(verdicts)
    return "".join(verdict_detail(item, found[item["key"]]) for item in claims() if item["notebook"] == number and item["key"] in found)
