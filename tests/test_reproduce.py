"""``reproduce``: what it refuses before executing anything."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unlearnlib.reproduce import NoNotebooksError, reproduce

ROOT = Path(__file__).resolve().parents[1]


def test_reproduce_outside_the_repository_fails_naming_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoNotebooksError, match=str(tmp_path / "notebooks")):
        reproduce(profile="smoke", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_line_exits_2_outside_the_repository(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "unlearnlib", "reproduce", "--profile", "smoke"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no study notebook" in result.stderr and str(tmp_path / "notebooks") in result.stderr


def test_an_unknown_notebook_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="known: 00_data"):
        reproduce(profile="smoke", notebooks=["99_nosuch"], output_dir=tmp_path)
