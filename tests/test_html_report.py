"""Result summaries and paired differences; the HTML report built from the executed notebooks."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from unlearnlib import html_report, paper
from unlearnlib.html_report import render_report
from unlearnlib.paths import FIGURES_DIR_ENV
from unlearnlib.report import paired_difference, summarize


def test_summary_gives_mean_sd_and_count_per_group():
    table = pd.DataFrame({"method": ["a", "a", "b"], "seed": [0, 1, 0], "forget_acc": [0.5, 0.7, 0.9]})
    out = summarize(table, by=["method"], metrics=["forget_acc"]).set_index("method")
    assert out.loc["a", "forget_acc_mean"] == pytest.approx(0.6) and out.loc["a", "forget_acc_sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert out.loc["a", "n"] == 2 and np.isnan(out.loc["b", "forget_acc_sd"])


def test_paired_difference_matches_a_hand_computed_t_interval():
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(0.975, 2) = 4.303
    table = pd.DataFrame({
        "method": ["m"] * 6, "seed": [0, 1, 2] * 2, "forget_set": ["male"] * 3 + ["female"] * 3,
        "test_acc": [0.6, 0.7, 0.8, 0.5, 0.5, 0.5],
    })
    out = paired_difference(table, column="forget_set", a="male", b="female", metric="test_acc", by=["method"]).iloc[0]
    half = 4.302653 * 0.1 / np.sqrt(3)
    assert out["difference"] == pytest.approx(0.2) and out["ci_low"] == pytest.approx(0.2 - half, rel=1e-5)
    assert out["ci_high"] == pytest.approx(0.2 + half, rel=1e-5) and 0 < out["p_value"] < 0.1 and out["pairs"] == 3


# -- the HTML report (unlearnlib.html_report) ---------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
FAKE_VERDICT = "agree — a fake reason written by the test"


def _copy_outputs(tmp_path: Path) -> tuple[list[Path], Path]:
    """Copies of the committed notebooks and figures: 02 without a verdict line and 03 with a
    fake one (whether or not they were executed), so both report paths are tested."""
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks or not list((ROOT / "figures").glob("*.png")):
        pytest.skip("no executed notebooks and figures committed")
    figures = tmp_path / "figures"
    shutil.copytree(ROOT / "figures", figures, ignore=shutil.ignore_patterns("report.html", "notebooks"))
    (tmp_path / "notebooks").mkdir()
    copies = []
    for path in notebooks:
        notebook = nbformat.read(str(path), as_version=4)
        if path.stem.startswith(("02_", "03_")):  # drop the real verdicts, executed or not
            for cell in (c for c in notebook.cells if c.cell_type == "code"):
                cell.outputs = [o for o in cell.outputs if "**Verdict:**" not in str(o.get("data", {}).get("text/markdown", ""))]
        if path.stem.startswith("03_"):
            cell = next(c for c in notebook.cells if c.cell_type == "code" and "findings" in c.source)
            cell.outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": f"- **Verdict:** {FAKE_VERDICT}"}))
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


def test_report_shows_every_figure_inline_with_its_pdf(built):
    notebooks, figures, _, page = built
    numbers = tuple(p.stem.split("_")[0] + "_" for p in notebooks)
    pngs = [p for p in figures.glob("*.png") if p.name.startswith(numbers)]
    assert pngs and page.count("<img ") == len(pngs)
    for png in pngs:
        assert f"src='{png.name}'" in page and f"href='{png.stem}.pdf'" in page


def test_report_renders_every_table_as_html(built):
    _, figures, _, page = built
    stems = {p.stem for p in figures.glob("*.csv")} | {p.stem for p in figures.glob("*.md")}
    assert stems and page.count("<table class='data'>") == len(stems)
    summary = pd.read_csv(figures / "01_original_models_summary.csv")  # rounded and paired
    paired = f"{html_report.format_number(summary.test_acc_mean[0])} ± {html_report.format_number(summary.test_acc_sd[0])}"
    assert "mean ± sd" in page and paired in page
    assert page.count("<details>") == sum(len(pd.read_csv(figures / f"{s}.csv")) > html_report.LONG_TABLE_ROWS
                                          for s in stems if (figures / f"{s}.csv").exists())


def test_report_pulls_verdicts_into_the_paper_table(built):
    page = built[3]
    table = page[page.index("id=\"paper\""):page.index("id=\"provenance\"")]
    assert "<table class='paper'>" in table and FAKE_VERDICT in table and "class='verdict agree'" in table
    assert "see <a href='#nb-02'>notebook 02</a>" in table  # no verdict line in 02: a pointer instead
    assert all(html.escape(item["claim"]) in table for item in paper.FINDINGS)


def test_report_gives_provenance_as_a_table_not_a_dict(built):
    notebooks, _, _, page = built
    commit = html_report.notebook_provenance(nbformat.read(str(notebooks[0]), as_version=4))["commit"]
    section = page[page.index("id=\"provenance\""):page.index("id='nb-00'")]
    assert f"<td class='mono'>{commit}</td>" in section and "{'commit'" not in page
    assert all(f"<td>{p.stem}</td>" in section for p in notebooks)


def test_report_links_the_notebook_exports_that_exist(built):
    notebooks, _, exported, page = built
    assert page.count("executed notebook (HTML)") == 1 and f"href='notebooks/{exported.name}'" in page
    assert "href='notebooks/00_data.html'" not in page


def test_notebook_export_shows_inputs_and_needs_no_cdn(built):
    export = built[2].read_text()
    assert "jp-InputArea" in export and "findings" in export and "data:image/png;base64" in export  # code and figures inline
    assert not re.search(r"<script[^>]+src=[\"']https?:", export) and "<link" not in export


def test_render_report_rebuilds_from_notebooks_without_executing(tmp_path, monkeypatch):
    _, figures = _copy_outputs(tmp_path)
    monkeypatch.setenv(FIGURES_DIR_ENV, str(figures))
    target = render_report(["02"], export_notebooks=False)
    assert target == figures / "report.html" and "id='nb-02'" in target.read_text() and "id='nb-03'" not in target.read_text()


def test_verdict_line_with_or_without_a_list_marker():
    assert html_report.verdict(["- a finding\n- **Verdict:** partly agree — why"]) == "partly agree — why"
    assert html_report.verdict(["x", "**Verdict:** disagree"]) == "disagree"
    assert html_report.verdict(["a finding that mentions a **Verdict:** mid-line"]) is None


def test_numbers_are_rounded_for_reading():
    assert [html_report.format_number(v) for v in (0.86255548, 31.8832, 701.0, float("nan"), 2e-6, 12345.6, np.int64(3))] == [
        "0.8626", "31.88", "701", "", "2.0e-06", "12,346", "3"]
