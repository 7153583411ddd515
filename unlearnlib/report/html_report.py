"""``figures/report.html``: the page a reviewer reads, built from the executed notebooks.

The page stands alone: its figures are embedded (``unlearnlib.report.html_embed``: each PNG
re-encoded, deterministically, as a ``data:`` URI), its style is inline, and it loads nothing,
so a copy of the single file shows everything but the downloads it links (PDFs, long CSVs, the
notebook exports), which resolve beside it in ``figures/``. It shows, in order:

1. *The paper vs this study*: one line per finding (``unlearnlib.report.paper.summary_table``): the
   paper's sentence quoted with its source, the verdict this study computed, one labelled estimate
   with the interval its test uses and that interval's level, and links to the details and the rule
   (``unlearnlib.report.html_verdicts``; verdicts read as data from ``figures/verdicts.csv``);
2. *Limitations* (``unlearnlib.report.html_limitations``);
3. *Methods*, written from the code's declarations (``unlearnlib.report.html_methods``): each
   unlearning method in two sentences with its reference (``unlearnlib.report.html_references``), and
   every verdict rule, once;
4. the provenance of every notebook's results, as a table;
5. per notebook (``00`` .. ``08``): the full verdict rows it judged, its computed findings
   (rendered Markdown), its figures (``figures/<NN>_*.png``, each with its caption
   ``<NN>_*.caption.txt`` and a link to its PDF), its tables (``figures/<NN>_*.csv``: inline
   when they fit the page, else a link and a summary of their columns), and a link to its HTML
   export;
6. the references.

Conventions for notebook authors:

- A notebook's findings are what it handed to ``unlearnlib.report.notebook.show_findings(lines)``
  (an output of type ``notebook.FINDINGS_MIME``), shown as a Markdown list.
- The provenance of a notebook is the output of ``unlearnlib.report.notebook.provenance(...)``
  (an output of type ``notebook.PROVENANCE_MIME``); nothing is parsed from text.
- Figures and tables a notebook writes start with its number: ``figures/02_*.png``; a
  figure's caption is the one given to ``plots.save_figure``.

Nothing on the page depends on when or where it was rendered, so the same results give the
same bytes. The HTML exports (``figures/notebooks/<name>.html``, inputs shown) use nbconvert's
``lab`` template without its CDN scripts (require.js, MathJax, Mermaid): the notebooks need
none of them, so the pages render offline; only interactive widgets would not.

``render_report()`` rebuilds the report and the exports from the executed notebooks
without executing anything, e.g. after ``make figures``::

    python -m unlearnlib.report.html_report
"""
from __future__ import annotations

import html
import os
from pathlib import Path

from .. import __version__
from . import paper
from .html_embed import png_data_uri
from .html_limitations import limitations_html
from .html_methods import methods_html
from .html_references import cite, references_html
from .html_tables import kv_table, table_html
from .html_verdicts import cover_table, section_verdicts, study_verdicts
from .notebook import FINDINGS_MIME, PROVENANCE_MIME
from ..paths import figures_dir, notebook_paths
from .plots import CAPTION_SUFFIX

EXPORTS_FOLDER = "notebooks"  # under the figures folder
VERDICTS_SUFFIX = "_verdicts"  # figures/NN_verdicts.csv: read by html_verdicts, not shown as a table

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
table.paper td { font-size: 14px; } table.paper td:first-child { font-weight: 600; }
.agree { background: #dff3e3; } .partly { background: #fff3cd; } .disagree { background: #f8d7da; }
code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
details summary { cursor: pointer; color: #4a7bd0; }
.verdict-detail { border-left: 4px solid #999; padding: 4px 12px; margin: 8px 0; } .verdict-detail.agree { border-color: #3c9a50; }
.verdict-detail.partly { border-color: #d4a72c; } .verdict-detail.disagree { border-color: #c0392b; }
table.paper td.more, table.paper td:nth-child(3) { white-space: nowrap; } .cite { white-space: nowrap; }
table.methods td:first-child { white-space: nowrap; } ul.rules li, ul.limitations li, ol.references li { margin-bottom: 6px; }
"""


# -- reading an executed notebook -------------------------------------------------------

def notebook_findings(notebook) -> list[str]:
    """The findings the notebook handed over as data (``notebook.show_findings``), as one
    Markdown list per call."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}).get(FINDINGS_MIME)
            if data and data.get("findings"):
                texts.append("\n".join(f"- {line}" for line in data["findings"]))
    return texts


def notebook_provenance(notebook) -> dict[str, str]:
    """What ``notebook.provenance(...)`` handed over as data, plus papermill's profile."""
    found: dict[str, str] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {}).get(PROVENANCE_MIME)
            if isinstance(data, dict):
                found = {str(k): str(v) for k, v in data.items()}
    parameters = notebook.metadata.get("papermill", {}).get("parameters", {})
    if "profile" in parameters:
        found = {"profile": str(parameters["profile"]), **found}
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


def provenance_table(by_notebook: dict[str, dict[str, str]]) -> str:
    """What every notebook shares as one key-value table, then one row per notebook for
    what differs (how many results, when they were computed, on which machines)."""
    keys: list[str] = []
    for values in by_notebook.values():
        keys += [k for k in values if k not in keys]
    shared = {k: next(iter(by_notebook.values()))[k] for k in keys
              if len(by_notebook) > 1 and len({values.get(k) for values in by_notebook.values()}) == 1}
    varying = [k for k in keys if k not in shared]
    head = "<th>notebook</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in varying)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td class='mono'>{html.escape(values.get(k, '-'))}</td>" for k in varying) + "</tr>"
        for name, values in by_notebook.items()
    )
    common = f"<p>Shared by all {len(by_notebook)} notebooks:</p>{kv_table(shared)}<p>Per notebook:</p>" if shared else ""
    return f"{common}<div class='scroll'><table class='provenance'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"


def figure_html(image: Path, link) -> str:
    """A figure, embedded, with its caption (from ``plots.save_figure``) and a link to its PDF."""
    caption_file = image.with_name(image.stem + CAPTION_SUFFIX)
    caption = _markdown().renderInline(caption_file.read_text().strip()) if caption_file.exists() else "<span class='muted'>no caption</span>"
    pdf = image.with_suffix(".pdf")
    files = f" <span class='muted'>(<a href='{link(pdf)}'>PDF</a>)</span>" if pdf.exists() else ""
    return (f"<figure><img src='{png_data_uri(image)}' alt='{html.escape(image.stem)}'>"
            f"<figcaption><b>{html.escape(image.stem)}.</b> {caption}{files}</figcaption></figure>")


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

def _section(path: Path, notebook, *, figures: Path, exports: Path, link, verdicts) -> str:
    number = path.stem.split("_")[0]
    links = []
    if (exports / f"{path.stem}.html").exists():
        links.append(f"<a href='{link(exports / f'{path.stem}.html')}'>executed notebook (HTML)</a>")
    links.append(f"<a href='{link(path)}'>{html.escape(path.name)}</a>")
    parts = [f"<h2 id='nb-{number}'>{html.escape(notebook_title(notebook, path.stem))}</h2>", f"<p class='links'>{''.join(links)}</p>",
             section_verdicts(number, verdicts)]
    findings = notebook_findings(notebook)
    parts.append("<h3>Findings</h3>")
    parts.append("<div class='findings'>" + "".join(_markdown().render(t) for t in findings) + "</div>" if findings
                 else "<p class='muted'>This notebook displayed no findings.</p>")
    images = sorted(figures.glob(f"{number}_*.png"))
    if images:  # small figures sit side by side, wide ones take the row
        parts.append("<h3>Figures</h3><div class='figures'>" + "".join(figure_html(i, link) for i in images) + "</div>")
    # The verdict rows are shown above, whole, and their rules once in the methods: not again as a table.
    tables = [t for t in sorted(figures.glob(f"{number}_*.csv")) if not t.stem.endswith(VERDICTS_SUFFIX)]
    if tables:
        parts.append("<h3>Tables</h3>")
    for csv in tables:
        markdown_file = csv.with_suffix(".md")
        files = " · ".join(f"<a href='{link(p)}'>{p.suffix[1:]}</a>" for p in (csv, markdown_file) if p.exists())
        parts.append(f"<h4>{html.escape(csv.stem)} <span class='muted'>({files})</span></h4>")
        parts.append(table_html(csv, link))
    return "<section>" + "\n".join(parts) + "</section>"


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

    sections, nav, provenances, verdicts = [], [], {}, study_verdicts(figures)
    for path in map(Path, notebooks):
        notebook = nbformat.read(str(path), as_version=4)
        provenances[path.stem] = notebook_provenance(notebook)
        if export_notebooks:
            export_notebook(path, exports)
        number = path.stem.split("_")[0]
        nav.append(f"<a href='#nb-{number}'>{html.escape(number)}</a>")
        sections.append(_section(path, notebook, figures=figures, exports=exports, link=link, verdicts=verdicts))
    profiles = sorted({p["profile"] for p in provenances.values() if "profile" in p}) or ["cpu"]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>unlearnlib report</title><style>{_CSS}</style></head><body>
<h1>unlearnlib: machine unlearning for medical imaging</h1>
<p class="muted">A reproduction of {html.escape(paper.CITATION)} {cite('nasirigerdeh2024')} Rendered by unlearnlib {__version__}
from the results ledger (profile {html.escape(', '.join(profiles))}); every number below was computed by the notebooks, and the
provenance table says when and where each notebook's results were computed. The figures are embedded: this file stands
alone; its links to PDFs, long tables and executed notebooks resolve beside it, in the repository's <code>figures/</code>.</p>
<nav><a href='#paper'>paper vs this study</a><a href='#limitations'>limitations</a><a href='#methods'>methods</a><a href='#provenance'>provenance</a>notebooks: {' '.join(nav)} <a href='#references'>references</a></nav>
<h2 id="paper">The paper vs this study</h2>
<p>The paper: {html.escape(paper.SETTING['paper'])}. This study: {html.escape(paper.SETTING['study'])} (see the
<a href='#limitations'>limitations</a>). One line per finding, the paper's own words quoted; each verdict's rule is in the
<a href='#rules'>methods</a>, its full row (interval, margins and their reasons, the methods counted and those that failed) in
its notebook's section.</p>
{cover_table(verdicts)}
<h2 id="limitations">Limitations</h2>
{limitations_html(profiles, figures)}
<h2 id="methods">Methods</h2>
{methods_html(profiles[0], figures)}
<h2 id="provenance">Provenance</h2>
<p>Where each notebook's results come from (its <code>provenance(...)</code> cell: the ledger rows it shows):</p>
{provenance_table(provenances)}
{''.join(sections)}
<h2 id="references">References</h2>
{references_html()}
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
