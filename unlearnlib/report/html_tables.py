"""Tables for the HTML report: numbers rounded for reading, ``x_mean`` / ``x_sd`` pairs as one
"mean ± sd" column, and tables too long or too wide for a page given as a CSV link with a
short summary inline."""
from __future__ import annotations

import html
import math
import numbers
from pathlib import Path
from typing import Callable

import pandas as pd

MAX_INLINE_ROWS = 60  # longer tables are linked, with a summary of their columns inline
COLLAPSE_ROWS = 30  # inline tables longer than this open on a click
MAX_INLINE_COLUMNS = 16  # so are wider ones (a mean with its sd counts as one column)
SUMMARY_COLUMNS = 12  # numeric columns summarised inline for a linked table
MISSING = "-"  # what an empty cell shows


def format_number(value) -> str:
    """3-4 significant digits, at most 4 decimals; integers as integers; tiny numbers
    (p-values) in e-notation; a missing value as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral) or float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    magnitude = abs(value)
    if magnitude < 1e-4:
        return f"{value:.1e}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{round(value, 4):.4g}"


def _columns(frame: pd.DataFrame) -> list[tuple[str, str | None]]:
    """Display columns: ``x_mean`` with its ``x_sd`` becomes one "mean ± sd" column."""
    pairs, taken = [], set()
    for column in frame.columns:
        sd = column[: -len("_mean")] + "_sd" if column.endswith("_mean") else None
        if sd in frame.columns:
            pairs.append((column, sd))
            taken.add(sd)
        elif column not in taken:
            pairs.append((column, None))
    return [pair for pair in pairs if pair[0] not in taken]


def display_width(frame: pd.DataFrame) -> int:
    """Columns as shown: a mean with its sd is one."""
    return len(_columns(frame))


def fits_inline(frame: pd.DataFrame) -> bool:
    return len(frame) <= MAX_INLINE_ROWS and display_width(frame) <= MAX_INLINE_COLUMNS


def _name(column) -> str:
    # <wbr> after underscores lets long column names wrap instead of widening the table.
    return html.escape(str(column)).replace("_", "_<wbr>")


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def frame_html(frame: pd.DataFrame) -> str:
    """Every row and column of ``frame`` as an HTML table."""
    columns = _columns(frame)
    head = "".join(
        f"<th>{_name(mean[: -len('_mean')])}<br><span class='muted'>mean ± sd</span></th>" if sd else f"<th>{_name(mean)}</th>"
        for mean, sd in columns
    )
    lines = []
    for _, record in frame.iterrows():
        cells = []
        for mean, sd in columns:
            text = format_number(record[mean])
            if sd and text != MISSING and format_number(record[sd]) != MISSING:
                text += f" ± {format_number(record[sd])}"
            cells.append(f"<td class='num'>{text}</td>" if _numeric(frame[mean]) else f"<td>{html.escape(text)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='scroll'><table class='data'><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"


def summary_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per numeric column (the first :data:`SUMMARY_COLUMNS`): mean, sd, min, median, max."""
    numeric = [c for c in frame.columns if _numeric(frame[c])][:SUMMARY_COLUMNS]
    rows = [{"column": c, "non-missing": int(frame[c].notna().sum()), "mean": frame[c].mean(), "sd": frame[c].std(),
             "min": frame[c].min(), "median": frame[c].median(), "max": frame[c].max()} for c in numeric]
    return pd.DataFrame(rows, columns=["column", "non-missing", "mean", "sd", "min", "median", "max"])


def table_html(path: Path, link: Callable[[Path], str]) -> str:
    """A CSV as an HTML table; a long or wide one as a link to it with a summary of its
    columns (``link`` turns a path into the page's relative address)."""
    frame = pd.read_csv(path)
    rows, width = frame.shape
    if fits_inline(frame):
        body = frame_html(frame)
        return f"<details><summary>Show all {rows} rows</summary>{body}</details>" if rows > COLLAPSE_ROWS else body
    numeric = [c for c in frame.columns if _numeric(frame[c])]
    text = [c for c in frame.columns if c not in numeric]
    parts = [f"<p>{rows:,} rows × {width} columns, too {'long' if rows > MAX_INLINE_ROWS else 'wide'} for the page: "
             f"<a href='{link(path)}'>download the CSV</a>."]
    if text:
        shown = ", ".join(html.escape(c) for c in text[:SUMMARY_COLUMNS]) + (f" and {len(text) - SUMMARY_COLUMNS} more" if len(text) > SUMMARY_COLUMNS else "")
        parts.append(f" Text columns: {shown}.")
    parts.append("</p>")
    if numeric:
        more = len(numeric) - SUMMARY_COLUMNS
        parts.append(f"<p class='muted'>Numeric columns{f' (the first {SUMMARY_COLUMNS} of {len(numeric)})' if more > 0 else ''}:</p>")
        parts.append(frame_html(summary_frame(frame)))
    return "".join(parts)


def kv_table(mapping: dict[str, str]) -> str:
    """A key-value table (provenance, settings)."""
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td class='mono'>{html.escape(v)}</td></tr>" for k, v in mapping.items())
    return f"<table class='provenance'>{rows}</table>"
