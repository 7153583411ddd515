"""The report's verdicts, read as data from ``figures/verdicts.csv`` (``paper.collect_verdicts``).

- :func:`cover_table`: one line per finding (the paper's findings, then this study's claims), from
  ``paper.summary_table``: the quote and its source, the verdict, the labelled estimate with the
  interval its test uses and that interval's level, links to the details and to the rule;
- :func:`verdict_detail`: the whole verdict row (estimate, interval, margins and their reasons,
  the methods counted and those that failed), shown at the top of the finding's notebook section;
- the rules themselves appear once, in the methods section (``html_methods.rules_html``).
"""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from . import paper
from .html_tables import format_number

VERDICT_CLASSES = {"agree": "agree", "partly agree": "partly", "mixed": "partly", "disagree": "disagree", "inconclusive": "partly"}


def claims() -> list[dict]:
    """The paper's findings, then this study's own claims, as ``unlearnlib.report.paper`` declares them."""
    return paper.claims()


def estimate_label(row: pd.Series, item: dict) -> str:
    """What the row's estimate is (which method and quantity): the row's own label, else the declared one."""
    return str(row["estimate_label"]) if _present(row, "estimate_label") else item["estimate_label"]


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
    """``0.019 [-0.014, 0.052] (95 % CI)``, the interval and its level only when there is one; empty without an estimate."""
    if not _present(row, "estimate"):
        return ""
    level = f" ({row['interval_level']:.0%} CI)".replace("%", " %") if _present(row, "interval_level") else ""
    interval = f" [{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]{level}" if _present(row, "ci_low") else ""
    return f"{format_number(row['estimate'])}{interval}"


def _verdict_word(row: pd.Series) -> str:
    word = str(row["verdict"]).strip()
    return f"<td class='verdict {VERDICT_CLASSES.get(word.lower(), '')}'><b>{html.escape(word)}</b></td>"


def cover_table(verdicts: pd.DataFrame) -> str:
    """One line per declared claim, from ``paper.summary_table``: the quote and its source, this study's
    verdict, the labelled estimate with its interval and level, and links to the claim's details (its
    notebook's section) and its rule (the methods). The rules themselves are not printed here."""
    found = verdicts_by_claim(verdicts)
    summary = paper.summary_table(pd.DataFrame([{**found[k].to_dict(), "finding": k} for k in found])) if found else None
    by_key = {} if summary is None else {r["key"]: r for _, r in summary.iterrows()}
    rows = []
    for item in claims():
        key, number = item["key"], item["notebook"]
        name = html.escape(item["finding"]) + ("" if item in paper.FINDINGS else " <span class='muted'>(this study's claim)</span>")
        quote = (f"&ldquo;{html.escape(paper.quoted(item))}&rdquo; <span class='muted'>({html.escape(paper.sourced(item))})</span>")
        row = by_key.get(key)
        if row is None:  # not judged (yet): point to the notebook instead
            study = f"<td>see <a href='#nb-{number}'>notebook {number}</a></td><td></td>"
            links = f"<a href='#nb-{number}'>notebook {number}</a> · <a href='#rule-{key}'>rule</a>"
        else:
            estimate = estimate_text(row)
            label = f"<span class='muted'>{html.escape(estimate_label(row, item))}:</span> " if estimate else ""
            study = f"{_verdict_word(row)}<td>{label}{estimate or '-'}</td>"
            links = f"<a href='#finding-{key}'>details</a> · <a href='#rule-{key}'>rule</a>"
        rows.append(f"<tr id='cover-{key}'><td>{name}</td><td>{quote}</td>{study}<td class='more'>{links}</td></tr>")
    head = ("<tr><th>finding</th><th>the paper says (or this study claims)</th><th>verdict</th>"
            "<th>estimate [interval its test uses]</th><th>more</th></tr>")
    return f"<table class='paper'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def verdict_detail(item: dict, row: pd.Series) -> str:
    """The verdict row of the claim ``item`` in full, for its notebook's section."""
    key = item["key"]
    parts = [f"how we read it: {html.escape(item['reading'])}"]
    estimate = estimate_text(row)
    if estimate:
        parts.append(f"estimate ({html.escape(estimate_label(row, item))}): {estimate}")
    for column, label in (("margin", "margin"), ("margin_reason", "why"), ("methods_counted", "methods counted"),
                          ("methods_failed", "methods that failed")):
        if _present(row, column):
            parts.append(f"{label}: {html.escape(format_number(row[column]))}" if column != "margin" else
                         f"margin {html.escape(format_number(row[column]))}")
    word = str(row["verdict"]).strip()
    return (f"<div class='verdict-detail {VERDICT_CLASSES.get(word.lower(), '')}' id='finding-{key}'>"
            f"<b>{html.escape(item['finding'])}: {html.escape(word)}</b> on &ldquo;{html.escape(paper.quoted(item))}&rdquo; "
            f"(<a href='#rule-{key}'>the rule</a>)<br>" + "; ".join(parts) + ".</div>")


def section_verdicts(number: str, verdicts: pd.DataFrame) -> str:
    """The verdict details of every claim that notebook ``number`` judges."""
    found = verdicts_by_claim(verdicts)
    return "".join(verdict_detail(item, found[item["key"]]) for item in claims() if item["notebook"] == number and item["key"] in found)
