"""The HTML report stands alone (issue item 3): figures embedded as PNG data URIs, under 5 MB,
every method described and cited, a references list, limitations, one cover line per finding
and each rule once. Built from a copy of the committed notebooks and figures, verdicts included."""
from __future__ import annotations

import html
import importlib.util
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unlearnlib.report import html_embed, html_references, html_report, html_verdicts
from unlearnlib.algorithms import available

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 5_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path, str]:
    """(figures copy, report path, page) for the committed results as they are."""
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks or not (ROOT / "figures" / "verdicts.csv").exists():
        pytest.skip("no executed notebooks and verdicts committed")
    figures = tmp_path_factory.mktemp("standalone") / "figures"
    shutil.copytree(ROOT / "figures", figures, ignore=shutil.ignore_patterns("report.html"))
    target = html_report.build_report(notebooks, figures=figures, export_notebooks=False)
    return figures, target, target.read_text(encoding="utf-8")


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(start):page.index(end)]


def _images(page: str) -> list[str]:
    return re.findall(r"<img\b[^>]*\bsrc='([^']*)'", page)


def test_every_figure_is_an_embedded_png_and_the_page_is_under_5_mb(report):
    figures, target, page = report
    sources = _images(page)
    assert len(sources) == page.count("<img ") == len(list(figures.glob("[0-9][0-9]_*.png")))
    for src in sources:
        assert src.startswith(html_embed.DATA_URI_PREFIX), f"an image the page does not hold: {src[:60]}"
        data = html_embed.decode_data_uri(src)
        assert data.startswith(PNG_SIGNATURE)
        Image.open(io.BytesIO(data)).verify()  # a whole, valid PNG
    assert target.stat().st_size < MAX_BYTES


def test_the_page_loads_nothing_from_beside_it(report, tmp_path):
    _, target, page = report
    assert "<link" not in page and not re.search(r"<script[^>]*\bsrc=", page) and "url(" not in page
    assert not re.search(r"\bsrc=['\"](?!data:)", page)
    lone = tmp_path / "copied.html"  # a single copied file holds every figure
    shutil.copyfile(target, lone)
    assert [html_embed.decode_data_uri(s)[:8] for s in _images(lone.read_text())] == [PNG_SIGNATURE] * len(_images(page))


def test_every_anchor_the_page_links_exists(report):
    page = report[2]
    ids = set(re.findall(r"\bid=['\"]([^'\"]+)['\"]", page))
    targets = set(re.findall(r"href='#([^']+)'", page))
    assert targets and targets <= ids, f"links to missing anchors: {sorted(targets - ids)}"


def test_embedding_is_deterministic_smaller_and_faithful(report):
    figures = report[0]
    for png in sorted(figures.glob("[0-9][0-9]_*.png")):
        once = html_embed.compact_png(png)
        html_embed._compact.cache_clear()  # a fresh encode, not the cached bytes
        assert html_embed.compact_png(png) == once, f"{png.name} re-encodes differently"
        assert len(once) < png.stat().st_size
        original = np.asarray(Image.open(png).convert("RGB"), dtype=int)
        embedded = np.asarray(Image.open(io.BytesIO(once)).convert("RGB"), dtype=int)
        assert embedded.shape == original.shape
        with Image.open(png) as image:
            if html_embed.is_plot(image.convert("RGB")):  # a palette: anti-aliased edges move a little
                error = np.abs(embedded - original).max(-1)
                assert error.mean() < 0.5 and np.mean(error > 16) < 0.01, png.name  # under 0.5 of 255 on average
            else:  # a photograph stays lossless
                assert np.array_equal(embedded, original)


def test_every_registered_method_is_described_in_two_sentences_and_cited(report):
    page = report[2]
    methods = _section(page, "id=\"methods-unlearning\"", "<h3>Metrics")
    for name in available():
        text, keys = html_references.describe(name)
        assert len(re.findall(r"[.?!](?:\s|$)", text)) == 2, f"{name}: two sentences, not {text!r}"
        assert keys or name in html_references.BASELINES, f"{name} has no reference"
        assert all(key in html_references.REFERENCES for key in keys)
        assert f"<tr id='method-{name}'>" in methods and html.escape(text) in methods
    with pytest.raises(KeyError, match="html_references.METHODS"):
        html_references.describe("a_method_nobody_described")


def test_every_reference_is_listed_and_cited(report):
    page = report[2]
    listed = _section(page, "id=\"references\"", "</body>")
    body = page[:page.index("id=\"references\"")]
    for number, (key, text) in enumerate(html_references.REFERENCES.items(), start=1):
        assert f"<li id='ref-{key}'>{html.escape(text)}</li>" in listed
        assert f"<a href='#ref-{key}'>{number}</a>" in body, f"{key} is listed but never cited"
    assert "Nasirigerdeh" in listed and "Feldman" in listed and "Tschandl" in listed and "2505.22310" in listed


def test_one_cover_line_per_finding_and_each_rule_once_in_the_methods(report):
    page = report[2]
    cover = _section(page, "id=\"paper\"", "id=\"limitations\"")
    rules = _section(page, "id=\"rules\"", "id=\"provenance\"")
    verdicts = pd.read_csv(report[0] / "verdicts.csv")
    declared = {item["key"] for item in html_verdicts.claims()}
    # Every verdict the outputs hold is a declared claim with one cover line; a claim declared after the outputs
    # were rendered (issue 33's relearning claim, until its rerun ends) has its line but no verdict row yet.
    assert cover.count("<tr id='cover-") == len(declared) and set(verdicts["finding"]) <= declared
    rows = verdicts.set_index("finding")
    for item in (i for i in html_verdicts.claims() if i["key"] in rows.index):
        assert item["estimate_label"], f"{item['key']}: declare what its estimate is"
        line = re.search(rf"<tr id='cover-{item['key']}'>.*?</tr>", cover).group(0)
        label = html_verdicts.estimate_label(rows.loc[item["key"]], item)
        assert "class='verdict " in line and html.escape(label) in line
        assert page.count(html.escape(item["rule"])) == 1 and html.escape(item["rule"]) in rules


def test_the_limitations_say_what_this_study_is_not(report):
    limits = _section(report[2], "id=\"limitations\"", "id=\"methods\"")
    for words in ("abstract", "TissueMNIST and CheXpert", "HAM10000", "BreastMNIST", "resnet_tiny_nopool</code> at 28 px",
                  "<code>cpu</code> profile", "<code>gpu</code> profile", "has not been run", "55 images", "whole lesions"):
        assert words in limits, words


def _screenshot_script():
    spec = importlib.util.spec_from_file_location("report_screenshots", ROOT / "scripts" / "report_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_chromium_shows_every_image_of_a_lone_copy(report, tmp_path):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("no chromium on PATH (scripts/report_screenshots.py needs it)")
    script = _screenshot_script()
    count, broken = script.broken_images(script.alone(report[1], tmp_path))
    assert count == len(_images(report[2])) and broken == []
    # and the check does fail: an image left beside the report does not travel with the copy
    page = report[2].replace("<img ", "<img src='02_main_benchmark.png' alt='left behind'><img ", 1)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "report.html").write_text(page, encoding="utf-8")
    shutil.copyfile(report[0] / "02_main_benchmark.png", tmp_path / "elsewhere" / "02_main_benchmark.png")  # loads there
    assert script.broken_images(tmp_path / "elsewhere" / "report.html")[1] == []
    lone = tmp_path / "lone"
    lone.mkdir()
    assert script.broken_images(script.alone(tmp_path / "elsewhere" / "report.html", lone))[1] == ["left behind"]
