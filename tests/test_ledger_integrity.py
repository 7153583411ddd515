"""The ledger refuses what it cannot trust: a key held twice, a malformed file; `repair` mends
the first, keeping the newest row."""
from __future__ import annotations

import pandas as pd
import pytest

from unlearnlib.results.ledger import REPAIR_COMMAND, Ledger, LedgerError
from unlearnlib.provenance import stamp


def _row(key: str, value: float, finished: str) -> dict:
    return {**stamp(key, "unit", "v1"), "finished_utc": finished, "avg_gap": value}


def _merged_badly(path, rows: list[dict]) -> None:
    """What a merge of two branches that both appended the same row leaves behind."""
    pd.DataFrame(rows).to_csv(path / "experiments.csv", index=False)


def test_a_duplicated_key_is_refused_naming_the_file_the_key_and_the_repair(tmp_path):
    _merged_badly(tmp_path, [_row("a", 0.1, "2026-01-01T00:00:00+00:00"), _row("b", 0.2, "2026-01-01T00:00:00+00:00"),
                             _row("b", 0.3, "2026-01-02T00:00:00+00:00")])
    with pytest.raises(LedgerError) as refused:
        Ledger(tmp_path).table("experiments")
    message = str(refused.value)
    assert str(tmp_path / "experiments.csv") in message and "key b" in message and REPAIR_COMMAND in message
    assert "lines 3, 4" in message
    with pytest.raises(LedgerError):  # nor is anything appended to it
        Ledger(tmp_path).put("experiments", _row("c", 0.4, "2026-01-03T00:00:00+00:00"))


def test_repair_keeps_the_newest_row_of_each_key_and_nothing_else_changes(tmp_path):
    _merged_badly(tmp_path, [_row("b", 0.3, "2026-01-02T00:00:00+00:00"), _row("a", 0.1, "2026-01-01T00:00:00+00:00"),
                             _row("b", 0.2, "2026-01-01T00:00:00+00:00")])
    ledger = Ledger(tmp_path)
    assert ledger.repair("experiments") == 1
    table = ledger.table("experiments")
    assert list(table["key"]) == ["a", "b"] and list(table["avg_gap"]) == [0.1, 0.3]
    assert ledger.repair("experiments") == 0


def test_per_sample_rows_share_a_key_without_being_duplicates(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.put("sample_scores", pd.DataFrame({**stamp("k", "unit", "o1"), "sample": [0, 1], "loss": [0.1, 0.2]}))
    assert len(ledger.table("sample_scores")) == 2
    rows = pd.read_csv(tmp_path / "sample_scores.csv")
    pd.concat([rows, rows.iloc[[1]]]).to_csv(tmp_path / "sample_scores.csv", index=False)
    with pytest.raises(LedgerError, match="sample 1"):
        Ledger(tmp_path).table("sample_scores")


def test_a_malformed_file_is_named_with_its_line(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.put("experiments", _row("a", 0.1, "2026-01-01T00:00:00+00:00"))
    with open(tmp_path / "experiments.csv", "a") as handle:
        handle.write('b,unit,"v1,0.1\n')  # an unclosed quote, as a hand edit leaves it
    with pytest.raises(LedgerError) as refused:
        Ledger(tmp_path).table("experiments")
    assert str(tmp_path / "experiments.csv") in str(refused.value) and "line 3" in str(refused.value)


def test_a_row_with_too_many_fields_is_named_by_its_line(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.put("experiments", _row("a", 0.1, "2026-01-01T00:00:00+00:00"))
    ledger.put("experiments", _row("b", 0.2, "2026-01-01T00:00:00+00:00"))
    lines = (tmp_path / "experiments.csv").read_text().splitlines()
    lines[2] += ",surplus,fields"
    (tmp_path / "experiments.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(LedgerError, match="line 3 does not have"):
        Ledger(tmp_path).table("experiments")


def test_the_committed_ledger_holds_each_key_once():
    from unlearnlib.paths import project_root

    ledger = Ledger(project_root() / "data" / "ledger")  # Ledger() is a test session's own (conftest)
    for kind in ("experiments", "tuning", "forgetting_quality", "originals", "sample_scores", "memorization"):
        ledger.table(kind)  # raises LedgerError on a repeated key


def test_the_repair_command_mends_a_badly_merged_ledger(tmp_path, monkeypatch, capsys):
    from unlearnlib import cli

    _merged_badly(tmp_path, [_row("a", 0.1, "2026-01-01T00:00:00+00:00"), _row("a", 0.2, "2026-01-02T00:00:00+00:00")])
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path))
    assert cli.main(["ledger", "repair", "--kind", "experiments"]) == 0
    assert "dropped 1 repeated row" in capsys.readouterr().out
    assert list(Ledger(tmp_path).table("experiments")["avg_gap"]) == [0.2]
