"""The command line."""
from __future__ import annotations

import subprocess
import sys

from unlearnlib.cli import main


def test_data_check_reports_missing_and_exits_1(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "data", "check", "-v"]) == 1
    out = capsys.readouterr().out
    assert "ham10000     missing" in out and "breastmnist  missing" in out and "10.7910/DVN/DBW86T" in out


def test_algorithms_lists_every_method(capsys):
    assert main(["algorithms"]) == 0
    out = capsys.readouterr().out
    assert "retrain" in out and "finetune" in out


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "unlearnlib", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "reproduce" in result.stdout


def test_run_reads_a_grid_config_prints_a_summary_and_writes_parquet(tmp_path, monkeypatch, capsys):
    import pandas as pd

    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))
    config = tmp_path / "grid.yaml"
    config.write_text("profile: smoke\ndatasets: [synthetic]\nscenarios: [[random, {fraction: 0.1}]]\nmethods: [finetune]\nseeds: [0]\n")
    output = tmp_path / "grid.parquet"
    assert main(["run", "--config", str(config), "--output", str(output)]) == 0
    table = pd.read_parquet(output)
    assert sorted(table["method"]) == ["finetune", "retrain"] and (table["scenario_fraction"] == 0.1).all()
    assert "finetune" in capsys.readouterr().out
    # Command-line options override the file; everything cached is read back, not recomputed.
    assert main(["run", "--config", str(config), "--scenario", "patient:fraction=0.1", "--output", str(output)]) == 0
    assert set(pd.read_parquet(output)["scenario"]) == {"patient"}
    assert main(["results"]) == 0
    assert "4 cached experiment records" in capsys.readouterr().out


def test_bad_input_gives_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "run", "--profile", "smoke", "--method", "finetune"]) == 2
    assert "error: HAM10000 not found" in capsys.readouterr().err
    assert main(["run", "--profile", "nonesuch"]) == 2
    assert "unknown profile 'nonesuch'" in capsys.readouterr().err
