"""The HTML report (``unlearnlib.report.html_report``), built from copies of the committed notebooks and figures."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from unlearnlib.report import html_embed, html_report, html_tables, html_verdicts, paper
from unlearnlib.report.html_report import render_report
from unlearnlib.report.notebook import FINDINGS_MIME, PROVENANCE_MIME
from unlearnlib.paths import FIGURES_DIR_ENV
from unlearnlib.execution.study import PRIMARY_ENDPOINT

ROOT = Path(__file__).resolve().parents[1]
FAKE_FINDINGS = ["A finding handed over as data by the test", "and a second one"]
FAKE_PROVENANCE = {"results": "12 ledger rows", "computed (UTC)": "2026-11-28 07:53 to 2026-11-29 10:00"}
CAPTION = "A caption written by the test: mean over 5 seeds, bars ± 1 sd."


def _verdict_table(*rows: dict) -> pd.DataFrame:
    columns = ["finding", "verdict", "rule", "margin", "estimate", "ci_low", "ci_high", "methods_counted", "methods_failed"]
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)


def _copy_outputs(tmp_path: Path) -> tuple[list[Path], Path]:
    """Copies of the committed notebooks and figures; 02's copy gets a provenance output, one
    figure a caption."""
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks or not list((ROOT / "figures").glob("*.png")):
        pytest.skip("no executed notebooks and figures committed")
    figures = tmp_path / "figures"
    shutil.copytree(ROOT / "figures", figures, ignore=shutil.ignore_patterns("report.html", "notebooks", "*_verdicts.csv", "verdicts.csv",
                                                                              "*.caption.txt"))
    (figures / "02_main_benchmark.caption.txt").write_text(CAPTION + "\n")
    (tmp_path / "notebooks").mkdir()
    copies = []
    for path in notebooks:
        notebook = nbformat.read(str(path), as_version=4)
        if path.stem.startswith("02_"):
            cell = notebook.cells[-1]
            cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "x", PROVENANCE_MIME: FAKE_PROVENANCE})]
            # findings as data, in a cell whose source never says "findings"; and Markdown that is not findings
            notebook.cells.append(nbformat.v4.new_code_cell("show(x)", outputs=[nbformat.v4.new_output(
                "display_data", data={"text/markdown": "- markdown that is not a finding", FINDINGS_MIME: {"findings": FAKE_FINDINGS}})]))
            notebook.cells.append(nbformat.v4.new_code_cell("findings = 1", outputs=[nbformat.v4.new_output(
                "display_data", data={"text/markdown": "- **Verdict:** agree (text the report must not parse)"})]))
        nbformat.write(notebook, str(tmp_path / "notebooks" / path.name))
        copies.append(tmp_path / "notebooks" / path.name)
    return copies, figures


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    notebooks, figures = _copy_outputs(tmp_path)
    exported = html_report.export_notebook(notebooks[2], figures / "notebooks")  # one real export, to link
    target = html_report.build_report(notebooks, figures=figures, export_notebooks=False)
    return notebooks, figures, exported, target.read_text()


def test_report_shows_every_figure_embedded_with_its_caption_and_pdf(built):
    notebooks, figures, _, page = built
    numbers = tuple(p.stem.split("_")[0] + "_" for p in notebooks)
    pngs = [p for p in figures.glob("*.png") if p.name.startswith(numbers)]
    assert pngs and page.count("<img ") == len(pngs)
    for png in pngs:
        assert f"<img src='{html_embed.png_data_uri(png)}' alt='{png.stem}'>" in page and f"href='{png.stem}.pdf'" in page
        assert f"'{png.name}'" not in page  # no link to the PNG file: the page holds it
    assert CAPTION in page and page.count("no caption") == len(pngs) - 1


def test_small_tables_inline_long_and_wide_ones_as_a_link_with_a_summary(built):
    _, figures, _, page = built
    for csv in figures.glob("*.csv"):
        frame = pd.read_csv(csv)
        linked = f"href='{csv.name}'>download the CSV" in page
        assert linked == (not html_tables.fits_inline(frame))
        if linked:
            assert f"{len(frame):,} rows × {frame.shape[1]} columns" in page
    assert "7,009 rows" in page and "02_main_benchmark_runs.csv'>download" in page  # linked, not inline
    collapsed = [c for c in figures.glob("*.csv") if html_tables.fits_inline(f := pd.read_csv(c)) and len(f) > html_tables.COLLAPSE_ROWS]
    assert collapsed and page.count("<details>") == len(collapsed)
    assert len(re.sub(r"data:image/png;base64,[^']*", "", page).encode()) < 1_000_000  # the page without its figures


def test_table_cells_are_rounded_paired_and_show_missing_as_a_dash(built):
    _, figures, _, page = built
    summary = pd.read_csv(figures / "01_original_models_summary.csv")
    paired = f"{html_tables.format_number(summary.test_acc_mean[0])} ± {html_tables.format_number(summary.test_acc_sd[0])}"
    assert "mean ± sd" in page and paired in page
    assert not re.search(r"\bnan\b", page)
    frame = pd.DataFrame({"n": [350.0, 351.0], "x_mean": [0.5, float("nan")], "x_sd": [0.1, 0.2]})
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html_tables.frame_html(frame))
    assert cells == ["350", "0.5 ± 0.1", "351", "-"]


def test_the_cover_table_reads_verdicts_as_data_one_line_per_finding(tmp_path, monkeypatch):
    notebooks, figures = _copy_outputs(tmp_path)
    _verdict_table({"finding": "forget_size", "verdict": "inconclusive", "rule": "the retrain's drop excludes 0", "margin": 0.0,
                    "estimate": 0.019, "ci_low": -0.014, "ci_high": 0.052, "methods_counted": 6, "methods_failed": "ssd"},
                   ).to_csv(figures / "03_verdicts.csv", index=False)
    calls = []

    def collect(folder):  # the interface paper.collect_verdicts provides: one table from every verdict file
        calls.append(Path(folder))
        return pd.concat([pd.read_csv(p) for p in sorted(Path(folder).glob("*_verdicts.csv"))], ignore_index=True)

    monkeypatch.setattr(paper, "collect_verdicts", collect, raising=False)
    page = html_report.build_report(notebooks, figures=figures, export_notebooks=False).read_text()
    table = page[page.index("id=\"paper\""):page.index("id=\"limitations\"")]
    assert calls == [figures]
    line = re.search(r"<tr id='cover-forget_size'>.*?</tr>", table).group(0)
    assert "class='verdict partly'><b>inconclusive</b>" in line and "0.019 [-0.014, 0.052]" in line
    assert html.escape(paper.claim("forget_size")["estimate_label"]) in line  # the estimate says what it is
    assert "(95 % CI)" in line  # and which interval its test uses
    assert "href='#finding-forget_size'" in line and "href='#rule-forget_size'" in line
    assert "see <a href='#nb-02'>notebook 02</a>" in table  # no verdict for 02: a pointer instead
    assert table.count("<tr id='cover-") == len(html_verdicts.claims())
    assert all(html.escape(paper.quoted(item)) in table for item in html_verdicts.claims())  # the paper's words, not ours
    # the rule is the declared one, in the methods only; the full row sits in notebook 03's section
    assert "drop excludes 0" not in page and "methods that failed" not in table
    detail = page[page.index("id='finding-forget_size'"):]
    detail = detail[:detail.index("</div>")]
    assert "methods that failed: ssd" in detail and "margin 0" in detail and page.index("id='nb-03'") < page.index("id='finding-forget_size'")


def test_without_verdict_files_every_finding_points_to_its_notebook(built):
    page = built[3]
    table = page[page.index("id=\"paper\""):page.index("id=\"limitations\"")]
    assert all(f"see <a href='#nb-{item['notebook']}'>" in table for item in html_verdicts.claims()) and "class='verdict" not in table
    assert "class='verdict-detail" not in page


def test_findings_are_read_from_the_notebooks_data_not_from_text(built):
    _, _, _, page = built
    section = page[page.index("id='nb-02'"):page.index("id='nb-03'")]
    assert all(html.escape(line) in section for line in FAKE_FINDINGS)
    assert "text the report must not parse" not in section and "markdown that is not a finding" not in section


def test_provenance_is_read_from_the_notebooks_data_not_from_text(built):
    _, _, _, page = built
    section = page[page.index("id=\"provenance\""):page.index("id='nb-00'")]
    assert all(html.escape(v) in section for v in FAKE_PROVENANCE.values()) and "<td>02_main_benchmark</td>" in section
    assert "{'" not in page


def test_the_methods_section_comes_from_the_declarations(built):
    page = built[3]
    methods = page[page.index("id=\"methods\""):page.index("id=\"provenance\"")]
    assert f"<code>{PRIMARY_ENDPOINT}</code>" in methods and "20 Optuna trials" in methods and "Holm" in methods
    assert "seeds 0, 1, 2, 3, 4 (5 seeds)" in methods and "ham10000: train 7009 images" in methods
    assert "bf16 autocast" in methods  # the cpu profile's arithmetic, as declared
    # the failure rule, the relearning budget and the verdict margins, as the code declares them
    from unlearnlib.evaluation import failures
    from unlearnlib.kinds import relearn
    assert html.escape(failures.RULE[1:]) in methods and relearn.RelearnBudget().describe() in methods
    assert "the noise floor" in methods and "Margins are not typed" in methods and html.escape(failures.DID_NOTHING_RULE) in methods
    assert "on 10 seeds at the smallest and the largest size" in methods


def test_the_report_depends_on_the_results_only(tmp_path):
    notebooks, figures = _copy_outputs(tmp_path)
    first = html_report.build_report(notebooks, figures=figures, export_notebooks=False).read_bytes()
    second = html_report.build_report(notebooks, figures=figures, export_notebooks=False).read_bytes()
    assert first == second and b"/tmp/" not in first and b"Built " not in first


def test_report_links_the_notebook_exports_that_exist(built):
    notebooks, _, exported, page = built
    assert page.count("executed notebook (HTML)") == 1 and f"href='notebooks/{exported.name}'" in page
    assert "href='notebooks/00_data.html'" not in page


def test_notebook_export_shows_inputs_needs_no_cdn_and_is_byte_stable(built, tmp_path):
    notebooks, _, exported, _ = built
    export = exported.read_text()
    assert "jp-InputArea" in export and "findings" in export and "data:image/png;base64" in export  # code and figures inline
    assert not re.search(r"<script[^>]+src=[\"']https?:", export) and "<link" not in export
    assert html_report.export_notebook(notebooks[2], tmp_path).read_bytes() == exported.read_bytes()


def test_render_report_rebuilds_from_notebooks_without_executing(tmp_path, monkeypatch):
    _, figures = _copy_outputs(tmp_path)
    monkeypatch.setenv(FIGURES_DIR_ENV, str(figures))
    target = render_report(["02"], export_notebooks=False)
    assert target == figures / "report.html" and "id='nb-02'" in target.read_text() and "id='nb-03'" not in target.read_text()


def test_numbers_are_rounded_for_reading():
    import numpy as np

    assert [html_tables.format_number(v) for v in (0.86255548, 31.8832, 701.0, float("nan"), 2e-6, 12345.6, np.int64(3))] == [
        "0.8626", "31.88", "701", "-", "2.0e-06", "12,346", "3"]
