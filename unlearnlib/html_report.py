"""``figures/report.html``: the page a reviewer reads, built from the executed notebooks.

It shows, in order:

1. *The paper vs this study*: each of the paper's findings (``unlearnlib.paper``) beside
   the verdict of the notebook that tests it;
2. the provenance of every executed notebook, as a table;
3. per notebook (``00`` .. ``08``): its computed findings (rendered Markdown), its figures
   inline (``figures/<NN>_*.png``, each linking its PDF), its tables inline
   (``figures/<NN>_*.csv``, else ``.md``), and a link to its HTML export.

Conventions for notebook authors (nothing else is parsed):

- The *findings cell* is a code cell whose source mentions ``findings``; whatever Markdown
  it displays (``display(Markdown(...))``) is the notebook's findings.
- A notebook that tests one of the paper's findings displays, in its findings cell, one
  Markdown line that starts with ``**Verdict:**``, then ``agree``, ``partly agree``,
  ``disagree`` or ``inconclusive`` and a short reason, e.g.
  ``**Verdict:** agree — test accuracy drops by 0.014 from 1 % to 50 %.``
  (a leading list marker ``- `` is allowed). The report copies that line into the paper
  table; without it the table says "see notebook NN".
- The *provenance cell* is a code cell whose source is ``provenance()``; its displayed
  dict becomes a row of the provenance table.
- Figures and tables a notebook writes start with its number: ``figures/02_*.png``.

The HTML exports (``figures/notebooks/<name>.html``, inputs shown) use nbconvert's ``lab``
template without its CDN scripts (require.js, MathJax, Mermaid): the notebooks need none
of them, so the pages render offline; only interactive widgets would not.

``render_report()`` rebuilds the report and the exports from the executed notebooks
without executing anything, e.g. after ``make figures``::

    python -m unlearnlib.html_report
"""
from __future__ import annotations

import ast
import html
import math
import numbers
import os
import re
from pathlib import Path

from . import paper
from .paths import figures_dir, notebook_paths
from .provenance import run_provenance

LONG_TABLE_ROWS = 30  # longer tables are collapsed behind a <details>
EXPORTS_FOLDER = "notebooks"  # under the figures folder

_VERDICT = re.compile(r"^\s*(?:[-*+]\s+)?\*\*Verdict:\*\*\s*(?P<text>.+?)\s*$", re.MULTILINE)
_VERDICT_CLASSES = {"agree": "agree", "partly": "partly", "disagree": "disagree", "inconclusive": "partly"}

# nbconvert's lab template minus the scripts it would fetch from a CDN.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block html_head_js %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}
{% block html_head_js_mermaidjs %}{% endblock %}
"""

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; }
h1 { margin-top: 28px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 48px; } h3 { margin-top: 28px; }
nav { background: #f6f8fa; padding: 8px 14px; border-radius: 6px; } nav a { margin-right: 14px; white-space: nowrap; }
.links a { margin-right: 14px; } .muted { color: #666; font-size: 0.9em; }
.findings { background: #f6f8fa; border-left: 4px solid #4a7bd0; padding: 4px 18px; }
.figures { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
figure { margin: 6px 0; max-width: 100%; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 0.9em; color: #555; }
.scroll { overflow-x: auto; margin: 6px 0 18px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; vertical-align: top; }
th { background: #f0f2f5; text-align: left; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
table.paper td { font-size: 14px; } table.paper td:first-child { font-weight: 600; white-space: nowrap; }
.agree { background: #dff3e3; } .partly { background: #fff3cd; } .disagree { background: #f8d7da; }
code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
details summary { cursor: pointer; color: #4a7bd0; }
"""


# -- reading an executed notebook -------------------------------------------------------

def notebook_findings(notebook) -> list[str]:
    """The Markdown texts the findings cell(s) displayed."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "findings" in cell.source:
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("text/markdown", "")
                texts.append("".join(text) if isinstance(text, list) else text)
    return [t for t in texts if t.strip()]


def verdict(findings: list[str]) -> str | None:
    """The text after the first ``**Verdict:**`` line of the findings, else None."""
    for text in findings:
        match = _VERDICT.search(text)
        if match:
            return match.group("text")
    return None


def notebook_provenance(notebook) -> dict[str, str]:
    """The dict the provenance cell displayed, plus papermill's profile and duration."""
    found: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.strip() == "provenance()":
            for output in cell.get("outputs", []):
                try:  # a displayed dict is its repr: literal_eval reads it back safely
                    value = ast.literal_eval(output.get("data", {}).get("text/plain", ""))
                except (ValueError, SyntaxError):
                    continue
                if isinstance(value, dict):
                    found = {str(k): str(v) for k, v in value.items()}
    run = notebook.metadata.get("papermill", {})
    if "profile" in run.get("parameters", {}):
        found["profile"] = str(run["parameters"]["profile"])
    if run.get("duration") is not None:
        found["duration"] = f"{run['duration']:.0f} s"
    return found


def notebook_title(notebook, fallback: str) -> str:
    """The first Markdown heading, e.g. "02 Main benchmark: every method against retraining"."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


# -- rendering pieces ---------------------------------------------------------------------

def _markdown():
    import markdown_it

    # Findings are our own output, but raw HTML in them would still break the page.
    return markdown_it.MarkdownIt("commonmark", {"html": False}).enable("table")


def format_number(value) -> str:
    """3-4 significant digits, at most 4 decimals; tiny numbers (p-values) in e-notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
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


def _columns(frame) -> list[tuple[str, str | None]]:
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


def table_html(path: Path) -> str:
    """A CSV (or, lacking one, a Markdown table) as an HTML table; long ones collapsed."""
    if path.suffix == ".md":
        body, rows = _markdown().render(path.read_text()), path.read_text().count("\n|") - 1
        body = body.replace("<table>", "<table class='data'>")
    else:
        import pandas as pd

        frame = pd.read_csv(path)
        rows = len(frame)
        columns = _columns(frame)
        numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns}
        # <wbr> after underscores lets long column names wrap instead of widening the table.
        name = lambda c: html.escape(str(c)).replace("_", "_<wbr>")  # noqa: E731
        head = "".join(
            f"<th>{name(mean[: -len('_mean')])}<br><span class='muted'>mean ± sd</span></th>" if sd else f"<th>{name(mean)}</th>"
            for mean, sd in columns
        )
        lines = []
        for _, record in frame.iterrows():
            cells = []
            for mean, sd in columns:
                text = format_number(record[mean])
                if sd and format_number(record[sd]):
                    text += f" ± {format_number(record[sd])}"
                cells.append(f"<td class='num'>{text}</td>" if numeric[mean] else f"<td>{html.escape(text)}</td>")
            lines.append("<tr>" + "".join(cells) + "</tr>")
        body = f"<table class='data'><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    body = f"<div class='scroll'>{body}</div>"
    if rows > LONG_TABLE_ROWS:
        body = f"<details><summary>Show all {rows} rows</summary>{body}</details>"
    return body


def _kv_table(mapping: dict[str, str]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td class='mono'>{html.escape(v)}</td></tr>" for k, v in mapping.items())
    return f"<table class='provenance'>{rows}</table>"


def provenance_table(by_notebook: dict[str, dict[str, str]]) -> str:
    """What every notebook shares (usually commit, command, machine) as one key-value table,
    then one row per notebook for what differs (when each finished, how long it took)."""
    keys: list[str] = []
    for values in by_notebook.values():
        keys += [k for k in values if k not in keys]
    shared = {k: next(iter(by_notebook.values()))[k] for k in keys
              if len(by_notebook) > 1 and len({values.get(k) for values in by_notebook.values()}) == 1}
    varying = [k for k in keys if k not in shared]
    head = "<th>notebook</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in varying)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td class='mono'>{html.escape(values.get(k, ''))}</td>" for k in varying) + "</tr>"
        for name, values in by_notebook.items()
    )
    common = f"<p>Shared by all {len(by_notebook)} notebooks:</p>{_kv_table(shared)}<p>Per notebook:</p>" if shared else ""
    return f"{common}<div class='scroll'><table class='provenance'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"


def paper_table(verdicts: dict[str, str | None]) -> str:
    """The paper's findings beside this study's verdicts (``verdicts``: notebook number -> text)."""
    md = _markdown()
    rows = [
        "<tr><td>Setting</td><td>" + html.escape(paper.SETTING["paper"]) + "</td><td>"
        + html.escape(paper.SETTING["study"]) + "</td><td></td></tr>"
    ]
    for item in paper.FINDINGS:
        number = item["notebook"]
        text = verdicts.get(number)
        if text:
            word = text.split()[0].strip(".,:;—-").lower() if text.split() else ""
            kind = _VERDICT_CLASSES.get(word, "")
            study = f"<td class='verdict {kind}'>{md.renderInline(text)}</td>"
        else:
            study = f"<td>see <a href='#nb-{number}'>notebook {number}</a></td>"
        rows.append(
            f"<tr><td>{html.escape(item['finding'])}</td><td>{html.escape(item['claim'])}</td>"
            f"{study}<td><a href='#nb-{number}'>{number}</a></td></tr>"
        )
    head = "<tr><th>finding</th><th>the paper</th><th>this study</th><th>notebook</th></tr>"
    return f"<table class='paper'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


# -- notebook exports ---------------------------------------------------------------------

def export_notebook(path: Path, folder: Path) -> Path:
    """``folder/<name>.html``: the executed notebook with inputs, readable offline."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab", template_file="offline.html.j2", extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})]
    )
    body, _ = exporter.from_filename(str(path))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(path).stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


# -- the report ---------------------------------------------------------------------------

def build_report(
    notebooks: list[Path], *, figures: Path, target: Path | None = None, export_notebooks: bool = True
) -> Path:
    """Write the report for the executed ``notebooks`` (in order) and return its path.

    ``figures`` holds the figures and tables; ``target`` defaults to
    ``figures/report.html``. With ``export_notebooks``, each notebook is also exported to
    ``figures/notebooks/<name>.html``; the report links those exports that exist."""
    import nbformat


    figures = Path(figures)
    target = Path(target) if target else figures / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    exports = figures / EXPORTS_FOLDER
    link = lambda path: html.escape(Path(os.path.relpath(path, target.parent)).as_posix(), quote=True)  # noqa: E731
    md = _markdown()

    sections, nav, verdicts, provenances = [], [], {}, {}
    for path in map(Path, notebooks):
        notebook = nbformat.read(str(path), as_version=4)
        number = path.stem.split("_")[0]
        findings = notebook_findings(notebook)
        verdicts[number] = verdict(findings)
        provenances[path.stem] = notebook_provenance(notebook)
        if export_notebooks:
            export_notebook(path, exports)
        title = notebook_title(notebook, path.stem)
        nav.append(f"<a href='#nb-{number}'>{html.escape(number)}</a>")

        links = []
        if (exports / f"{path.stem}.html").exists():
            links.append(f"<a href='{link(exports / f'{path.stem}.html')}'>executed notebook (HTML)</a>")
        links.append(f"<a href='{link(path)}'>{html.escape(path.name)}</a>")
        parts = [f"<h2 id='nb-{number}'>{html.escape(title)}</h2>", f"<p class='links'>{''.join(links)}</p>"]
        parts.append("<h3>Findings</h3>")
        parts.append(
            "<div class='findings'>" + "".join(md.render(t) for t in findings) + "</div>" if findings
            else "<p class='muted'>This notebook displayed no findings.</p>"
        )
        images = sorted(figures.glob(f"{number}_*.png"))
        figures_html = []
        for image in images:
            pdf = image.with_suffix(".pdf")
            caption = html.escape(image.stem) + (f" · <a href='{link(pdf)}'>PDF</a>" if pdf.exists() else "")
            figures_html.append(f"<figure><img src='{link(image)}' alt='{html.escape(image.stem)}'><figcaption>{caption}</figcaption></figure>")
        if images:  # small figures sit side by side, wide ones take the row
            parts.append("<h3>Figures</h3><div class='figures'>" + "".join(figures_html) + "</div>")
        tables = sorted({p.stem for p in figures.glob(f"{number}_*.csv")} | {p.stem for p in figures.glob(f"{number}_*.md")})
        if tables:
            parts.append("<h3>Tables</h3>")
        for stem in tables:
            csv, markdown_file = figures / f"{stem}.csv", figures / f"{stem}.md"
            files = " · ".join(f"<a href='{link(p)}'>{p.suffix[1:]}</a>" for p in (csv, markdown_file) if p.exists())
            parts.append(f"<h4>{html.escape(stem)} <span class='muted'>({files})</span></h4>")
            parts.append(table_html(csv if csv.exists() else markdown_file))
        sections.append("<section>" + "\n".join(parts) + "</section>")

    built = run_provenance()
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>unlearnlib report</title><style>{_CSS}</style></head><body>
<h1>unlearnlib: machine unlearning for medical imaging</h1>
<p class="muted">A reproduction of {html.escape(paper.CITATION)} Built {html.escape(built['finished'])}
from the executed notebooks; every number below was computed by them.</p>
<nav><a href='#paper'>paper vs this study</a><a href='#provenance'>provenance</a>notebooks: {' '.join(nav)}</nav>
<h2 id="paper">The paper vs this study</h2>
{paper_table(verdicts)}
<h2 id="provenance">Provenance</h2>
<p>What ran each notebook (from its provenance cell and papermill's record):</p>
{provenance_table(provenances)}
<p>This report was built by:</p>
{_kv_table(built)}
{''.join(sections)}
</body></html>
"""
    target.write_text(page, encoding="utf-8")
    return target


def render_report(names: list[str] | None = None, *, export_notebooks: bool = True) -> Path:
    """Rebuild ``figures/report.html`` and the notebook exports from the executed notebooks
    in ``notebooks/``, executing nothing (e.g. after ``make figures``)."""

    return build_report(notebook_paths(names), figures=figures_dir(), export_notebooks=export_notebooks)


if __name__ == "__main__":
    print(render_report())
