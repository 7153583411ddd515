"""The paper's claims quoted word for word, the verdict rows as data and the summary a reviewer
skims (issue 33, items 1 and 11)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unlearnlib.report import paper

ROOT = Path(__file__).resolve().parents[1]


def _record() -> str:
    path = ROOT / paper.SEED_RECORD
    if not path.exists():
        pytest.skip(f"the paper's record {paper.SEED_RECORD} is not beside this checkout ({path} is absent)")
    return path.read_text(encoding="utf-8")


def test_every_quote_from_the_record_is_in_it_word_for_word():
    record = " ".join(_record().split())
    checked = 0
    for item in paper.claims():
        assert item["source"] in paper.SOURCES, item["key"]
        if item["source"] not in ("abstract", "findings list"):
            continue
        position = 0
        for piece in (p.strip() for p in item["quote"].split("...")):
            found = record.find(piece, position)
            assert found >= 0, f"{item['key']}: {piece!r} is not in the record (after the previous piece)"
            position = found + len(piece)
        checked += 1
    assert checked == 4  # findings 1 to 4 quote the abstract


def test_what_the_record_lacks_is_marked_as_from_the_secondary_summaries():
    difficulty, cost = paper.claim("difficulty"), paper.claim("tuning_cost")
    assert difficulty["quote"].endswith("easy or\u2026") and difficulty["completion"] == ("hard samples", "secondary summaries")
    assert "secondary summaries: \u201chard samples\u201d" in paper.quoted(difficulty)
    assert paper.sourced(difficulty) == "abstract; its end: secondary summaries"
    assert cost["source"] == "secondary summaries"
    for item in paper.claims():
        assert item["reading"] and item["rule"] and item["finding"] and "claim" not in item


def test_no_rule_holds_a_typed_margin():
    assert not hasattr(paper, "GAP_MARGIN") and not hasattr(paper, "DROP_MARGIN")
    for item in paper.claims():
        assert "margin" not in item and "margin_reason" not in item


def _row(key="sex_bias", verdict="agree", **kw) -> dict:
    values = dict(estimate=0.01, ci_low=-0.005, ci_high=0.015, counted=["a"], failing={"b": (2, 10)},
                  margin="ham10000: avg_gap ±0.02", margin_reason="avg_gap on ham10000: ±0.02, handed in as a number")
    return paper.verdict_row(key, verdict, **(values | kw))


def test_verdicts_are_written_per_notebook_and_collected(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARNLIB_FIGURES_DIR", str(tmp_path))
    paper.write_notebook_verdicts([_row()], "04")
    paper.write_notebook_verdicts([_row("forget_size", "inconclusive", estimate=0.019, ci_low=-0.014, ci_high=0.052, failing={})], "03")
    table = paper.collect_verdicts(tmp_path)
    assert list(table.columns) == list(paper.VERDICT_COLUMNS)
    assert table["finding"].tolist() == ["forget_size", "sex_bias"]
    assert table.loc[1, "methods_failed"] == "b (2 of 10)" and table.loc[1, "margin"] == "ham10000: avg_gap ±0.02"
    assert table.loc[1, "quote"] == paper.claim("sex_bias")["quote"] and table.loc[1, "interval_level"] == 0.90
    assert table.loc[0, "interval_level"] == 0.95
    written = pd.read_csv(paper.write_verdicts(tmp_path))
    pd.testing.assert_frame_equal(written, table)
    paper.write_notebook_verdicts([_row()], "08")  # one claim judged twice: verdicts.csv keeps one row per claim
    with pytest.raises(ValueError, match=r"claims judged twice: \['sex_bias'\]"):
        paper.write_verdicts(tmp_path)


def test_a_typed_verdict_outside_the_four_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"verdict 'partly agree' is not one of \('agree', 'disagree', 'mixed', 'inconclusive'\)"):
        _row(verdict="partly agree")
    bad = pd.DataFrame([{c: "x" for c in paper.VERDICT_COLUMNS}])
    bad.to_csv(tmp_path / "05_verdicts.csv", index=False)
    with pytest.raises(ValueError, match=r"holds verdicts \['x'\]; allowed"):
        paper.collect_verdicts(tmp_path)


def test_an_older_verdict_file_gets_its_quote_and_levels_from_the_declaration(tmp_path):
    pd.DataFrame([{"finding": "forget_size", "verdict": "mixed", "rule": "old", "margin": 0.02, "estimate": 0.016, "ci_low": 0.012,
                   "ci_high": 0.02, "methods_counted": "retrain", "methods_failed": "none"}]).to_csv(tmp_path / "03_verdicts.csv", index=False)
    row = paper.collect_verdicts(tmp_path).iloc[0]
    assert row["quote"] == paper.claim("forget_size")["quote"] and row["interval_level"] == 0.95 and row["rule"] == "old"


def test_the_summary_has_one_row_per_claim_with_its_quote_estimate_and_interval_level():
    rows = [_row("patient_level", "inconclusive"), _row("tuning_cost", "agree", ci_low=np.nan, ci_high=np.nan, failing={}),
            _row("retain_forget", "mixed", estimate_label="breastmnist ssd forget_acc: minus the same seed's retrain"),
            _row("difficulty", "disagree")]
    summary = paper.summary_table(paper.verdict_table(rows))
    assert list(summary.columns) == list(paper.SUMMARY_COLUMNS)
    assert summary["key"].tolist() == ["retain_forget", "difficulty", "tuning_cost", "patient_level"]  # declaration order
    first = summary.iloc[0]
    assert first["finding"] == "Retain / forget performance" and first["source"] == "abstract" and first["interval_level"] == 0.90
    assert first["estimate_label"].startswith("breastmnist ssd forget_acc")
    assert summary.set_index("key").loc["difficulty", "interval_level"] == 0.95
    assert np.isnan(summary.set_index("key").loc["tuning_cost", "interval_level"])
    assert "hard samples" in summary.set_index("key").loc["difficulty", "quote"]


def test_the_verdict_line_states_the_verdict_the_quote_and_what_was_not_counted():
    row = _row(verdict="inconclusive", estimate=np.nan, ci_low=np.nan, ci_high=np.nan, counted=[], failing={"ssd": (4, 10)})
    line = paper.verdict_line(row)
    assert line.startswith("**Verdict:** inconclusive (Sex bias: \u201cOur evaluations demonstrate")
    assert "no estimate (no method counted)" in line and "failing: ssd (4 of 10)" in line
    assert "(90 % interval)" in paper.verdict_line(_row())
