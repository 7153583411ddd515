"""The notebooks' opening and provenance cells, written once.

Every study notebook opens, after its parameters cell, with::

    prof, seeds = start(profile, seeds)

which resolves the profile and its seeds, sets the figure style and shows the run's setting
as a small table; and it ends with::

    provenance(results, ...)

which shows, as a table, where the results it displayed came from: how many ledger rows,
when they were computed (the ledger's ``finished_utc``, not the time of rendering), by
which library version, commits and machines. The same facts travel to the HTML report as
data, in an output of type :data:`PROVENANCE_MIME`; nothing in them changes when the same
results are rendered again, so a rerender writes the same bytes. Its findings, computed
from its tables, are shown with ``show_findings(lines)``: a Markdown list for the reader and,
for the report, the same lines as data (:data:`FINDINGS_MIME`). Tables are shown with
``show_table(table)``: missing values as "-", numbers rounded, and a table wider than the page
scrolls sideways instead of being cut off (the CSVs keep every number as computed).
"""
from __future__ import annotations

import dataclasses
import html
from typing import Sequence

import pandas as pd

from . import plots
from ..execution.parameters import coerce
from ..profiles import Profile, activate_compute_path, get_profile

PROVENANCE_MIME = "application/vnd.unlearnlib.provenance+json"
FINDINGS_MIME = "application/vnd.unlearnlib.report.findings+json"
SEED_SETS = ("seeds", "curve_seeds")  # the profile's fields a notebook may take its seeds from
# The ledger's provenance columns that provenance() summarises.
_ROW_COLUMNS = ("key", "finished_utc", "unlearnlib_version", "commit", "machine", "fingerprint")


def start(profile: str, seeds: Sequence[int] | None = None, *, seed_set: str = "seeds") -> tuple[Profile, list[int]]:
    """The profile named ``profile`` and the seeds to run (``seeds``, else the profile's
    ``seed_set``); sets the figure style and displays the setting."""
    if seed_set not in SEED_SETS:
        raise ValueError(f"unknown seed set {seed_set!r}; allowed: {', '.join(SEED_SETS)}")
    prof = get_profile(profile)
    activate_compute_path(prof)  # records are looked up (and made) on the profile's path
    seeds = coerce("seeds", seeds)  # plain papermill's -p seeds '[0, 1, 2]' arrives as text
    chosen = list(getattr(prof, seed_set)) if seeds is None else seeds
    plots.setup_style()
    _display_table(setting(prof, chosen))
    return prof, chosen


def setting(prof: Profile, seeds: Sequence[int]) -> dict[str, str]:
    """The run's setting in words: profile, model, image size, training recipe, seeds."""
    recipe = ", ".join(f"{f.name.replace('_', ' ')} {getattr(prof.recipe, f.name)}" for f in dataclasses.fields(prof.recipe))
    return {
        "profile": prof.name,
        "model": prof.model,
        "image size": f"{prof.image_size} px",
        "training recipe": recipe,
        "seeds": ", ".join(str(s) for s in seeds),
    }


def results_provenance(*tables: pd.DataFrame) -> dict[str, str]:
    """Where the ledger rows in ``tables`` came from: their count, the span of their
    ``finished_utc``, library versions, commits and machines (tables without the ledger's
    provenance columns, such as derived summaries, are skipped)."""
    parts = [t[list(_ROW_COLUMNS)] for t in tables if set(_ROW_COLUMNS) <= set(t.columns)]
    if not parts:
        return {"results": "none from the ledger: this notebook reads the data only"}
    rows = pd.concat(parts, ignore_index=True).drop_duplicates("key")
    finished = pd.to_datetime(rows["finished_utc"], utc=True)
    machines = rows.groupby(["fingerprint", "machine"], sort=True).size()
    return {
        "results": f"{len(rows)} ledger rows",
        "computed (UTC)": f"{finished.min():%Y-%m-%d %H:%M} to {finished.max():%Y-%m-%d %H:%M}",
        "unlearnlib version": ", ".join(sorted(rows["unlearnlib_version"].astype(str).unique())),
        "commits": ", ".join(sorted(rows["commit"].astype(str).unique())),
        "machines": "; ".join(f"{fp}: {machine} ({n} rows)" for (fp, machine), n in machines.items()),
    }


def provenance(*tables: pd.DataFrame) -> None:
    """Display :func:`results_provenance` as a table, and as data for the report."""
    _display_table(results_provenance(*tables), mime=PROVENANCE_MIME)


def show_findings(lines: Sequence[str]) -> None:
    """The notebook's findings: a Markdown list for the reader, the lines as data for the report."""
    from IPython.display import display  # only inside a notebook's kernel

    lines = [str(line) for line in lines]
    display({"text/markdown": "\n".join(f"- {line}" for line in lines), FINDINGS_MIME: {"findings": lines}}, raw=True)


MISSING = "-"  # how a missing value (NaN, None) reads in a displayed table
SCROLL_CLASS = "unlearnlib-table"
# Cells keep their width (a "0.974 ± 0.003" is not broken over two lines): the block scrolls instead.
_NOWRAP = f"<style>.{SCROLL_CLASS} th, .{SCROLL_CLASS} td {{ white-space: nowrap; }}</style>"


def table_html(table: pd.DataFrame, *, digits: int = 4, index: bool | None = None) -> str:
    """``table`` as HTML inside a block that scrolls sideways when the table is wider than the
    page: numbers rounded to ``digits``, missing values as :data:`MISSING`. The row index is
    shown when it carries names (``index=None``: unless it holds plain row numbers). No
    random ids: the same table gives the same bytes."""
    shown, index = _readable(table, digits, index)
    body = shown.to_html(index=index, na_rep=MISSING, border=0, justify="left")
    return f"<div class=\"{SCROLL_CLASS}\" style=\"overflow-x: auto; max-width: 100%;\">{_NOWRAP}{body}</div>"


def show_table(table: pd.DataFrame, *, digits: int = 4, index: bool | None = None) -> None:
    """Display ``table`` (see :func:`table_html`), with a plain-text copy for text front ends.
    Use it for every table a notebook shows; the CSV written by ``report.write_table`` keeps
    the numbers as computed."""
    from IPython.display import display

    shown, shown_index = _readable(table, digits, index)
    text = shown.to_string(index=shown_index, na_rep=MISSING)
    display({"text/plain": text, "text/html": table_html(table, digits=digits, index=index)}, raw=True)


def _readable(table: pd.DataFrame, digits: int, index: bool | None) -> tuple[pd.DataFrame, bool]:
    if index is None:
        # a plain row number (0, 1, 2, ..., or what sorting left of it) says nothing; names or labels do
        index = table.index.name is not None or isinstance(table.index, pd.MultiIndex) or not pd.api.types.is_integer_dtype(table.index)
    return table.round(digits), bool(index)


def _display_table(mapping: dict[str, str], *, mime: str | None = None) -> None:
    from IPython.display import display

    rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
                   for k, v in mapping.items())
    width = max(map(len, mapping))
    bundle = {"text/plain": "\n".join(f"{k:<{width}}  {v}" for k, v in mapping.items()), "text/html": f"<table>{rows}</table>"}
    if mime:
        bundle[mime] = dict(mapping)
    display(bundle, raw=True)
