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
