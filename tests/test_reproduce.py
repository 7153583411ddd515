"""``reproduce``: what it refuses before executing anything."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unlearnlib.report.reproduce import NoNotebooksError, reproduce

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


def _executed(tmp_path: Path, name: str, *, started: str, order: tuple[str, str]) -> Path:
    """A notebook as papermill leaves it, with times, paths, a random id and interleaved streams."""
    import nbformat

    injected = nbformat.v4.new_code_cell('profile = "cpu"', metadata={"tags": ["injected-parameters"]})
    injected.id = "random-" + started.replace(":", "-")
    work = nbformat.v4.new_code_cell("print('a'); print('b', file=sys.stderr)", execution_count=2)
    work.id = "work"  # the notebook's own cells keep their ids
    work.metadata = {"papermill": {"start_time": started, "duration": 1.5}, "execution": {"iopub.status.idle": started}}
    streams = {"stdout": nbformat.v4.new_output("stream", name="stdout", text="a\n"),
               "stderr": nbformat.v4.new_output("stream", name="stderr", text="b\n")}
    work.outputs = [streams[o] for o in order] + [nbformat.v4.new_output("display_data", data={"text/plain": "shown"})]
    notebook = nbformat.v4.new_notebook(cells=[injected, work])
    notebook.metadata = {"papermill": {"parameters": {"profile": "cpu"}, "start_time": started, "input_path": f"/tmp/{started}/x.ipynb"},
                         "language_info": {"name": "python", "version": "3.11.9"}, "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    path = tmp_path / name
    nbformat.write(notebook, str(path))
    return path


def test_make_stable_keeps_what_depends_on_the_results_only(tmp_path):
    import nbformat

    from unlearnlib.report.reproduce import INJECTED_CELL_ID, make_stable

    a = _executed(tmp_path, "a.ipynb", started="2026-12-01T10:00:00", order=("stdout", "stderr"))
    b = _executed(tmp_path, "b.ipynb", started="2026-12-02T11:11:11", order=("stderr", "stdout"))
    make_stable(a), make_stable(b)
    assert a.read_bytes() == b.read_bytes()
    notebook = nbformat.read(str(a), as_version=4)
    assert notebook.metadata["papermill"] == {"parameters": {"profile": "cpu"}} and "version" not in notebook.metadata["language_info"]
    assert notebook.cells[0].id == INJECTED_CELL_ID and notebook.cells[1].metadata == {}
    assert [(o.output_type, o.get("name")) for o in notebook.cells[1].outputs] == [
        ("stream", "stdout"), ("stream", "stderr"), ("display_data", None)]
    assert "/tmp/" not in a.read_text() and "2026-12" not in a.read_text()
