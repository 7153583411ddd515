"""Each notebook reads exactly the rows the plan lists, for its defaults and for other parameters.

How "the rows a notebook reads" is measured, for each study notebook:

1. Its code, statically: it declares its grid once (``grid = notebook_grid("NN_name", prof,
   p=p, ...)``, every parameter of its parameters cell passed under its own name, right after
   ``start``), reads rows only through ``grid.fetch("<table>")`` and calls no other library
   function that can read the ledger. Those functions are derived, not listed: every function of
   ``unlearnlib`` that calls ``Ledger``, ``ResultStore`` or ``fetch_or_compute``, and by name every
   function that calls one of those, to a fixed point.
2. Its code, run: on the smoke profile with a private ledger that holds every row the plan lists
   (fake rows, tuned settings included), computing switched off, the notebook's parameters cell,
   the parameters as papermill injects them and its ``start`` cell (which declares the grid) are
   executed, then each table the notebook fetches is fetched; every ledger lookup (``Ledger.rows``,
   under ``get`` and ``fetch_or_compute``) is recorded.

The recorded rows must equal the plan's (``make_plan`` for that notebook and those parameters),
but for the rows the plan adds because computing a row fetches them first (the originals of
experiments, the per-sample scores of a difficulty set), which a notebook reading a complete
ledger does not look up. Once for the defaults, once for a parameter set that changes every
parameter it can.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import unlearnlib
from unlearnlib.execution import notebook_grids
from unlearnlib.execution import plan as planning
from unlearnlib.algorithms import get_method
from unlearnlib.results.ledger import Ledger
from unlearnlib.provenance import config_key, stamp
from unlearnlib.kinds.runner import ResultStore

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "smoke"

# Another value for every parameter that can take one on the smoke profile (its data has no sex
# or lesion ids but on HAM10000, so 04, 05 and 08 keep their dataset).
OTHER_PARAMETERS = {
    "01_original_models": {"datasets": ["breastmnist"], "seeds": [1, 2]},
    "02_main_benchmark": {"datasets": ["breastmnist"], "methods": ["finetune", "ssd"], "forget_fraction": 0.2, "seeds": [1]},
    "03_forget_size": {"methods": ["retrain", "ssd"], "fractions": [0.05, 0.2], "seeds": [1, 2]},
    "04_sex_bias": {"methods": ["original", "retrain", "ssd"], "forget_size": 30, "seeds": [1]},
    "05_difficulty": {"methods": ["retrain", "finetune"], "forget_size": 30, "score": "loss", "seeds": [2]},
    "06_efficiency_tuning": {"datasets": ["ham10000"], "tuning_dataset": "ham10000", "forget_fraction": 0.2, "seeds": [1]},
    "07_privacy": {"datasets": ["breastmnist"], "quality_dataset": "ham10000", "methods": ["retrain", "ssd"], "forget_fraction": 0.2,
                   "n_models": 5, "seeds": [1]},
    "08_patient_level": {"methods": ["retrain", "finetune"], "forget_fraction": 0.2, "seeds": [1, 2]},
}
# The kinds a notebook reading a complete ledger does not look up, though computing its rows fetches them first.
REQUIRED_FIRST = {"originals", "sample_scores", "memorization"}
# Functions the derivation below flags by name, that read no ledger row: twin_share draws random
# image-level forget sets (forget_split reads per-sample scores only for a scenario ranked by them).
READS_NO_ROW = {"twin_share"}


def _code_cells(name: str) -> list[dict]:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]


def _called(node: ast.AST) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _ledger_readers() -> set[str]:
    """Names of the library's functions that may read ledger rows (see the module docstring)."""
    calls: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(unlearnlib.__path__, "unlearnlib."):
        if info.name.endswith("__main__"):
            continue
        for node in ast.walk(ast.parse(inspect.getsource(importlib.import_module(info.name)))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls.setdefault(node.name, set()).update(_called(n) for n in ast.walk(node) if isinstance(n, ast.Call))
    readers = {"Ledger", "ResultStore", "fetch_or_compute"}
    while more := {name for name, called in calls.items() if called & readers} - readers:
        readers |= more
    return readers


@pytest.fixture(scope="module")
def readers() -> set[str]:
    found = _ledger_readers()
    # the derivation finds what the notebooks called before they had grids
    assert {"run_study_grid", "tuning_records", "tuned_settings", "originals_table", "relearn_specs", "main_table_specs",
            "relearning_rows", "run_forgetting_quality", "difficulty_table", "original_summary", "run_grid"} <= found
    return found - READS_NO_ROW


def _declared(name: str, readers: set[str]) -> tuple[int, list[str]]:
    """Checks 1. of the module docstring; returns the index of the cell that declares the grid
    and the tables the notebook fetches."""
    cells = _code_cells(name)
    parameters = planning.notebook_parameters(ROOT / "notebooks" / f"{name}.ipynb")
    assert "parameters" in cells[0].get("metadata", {}).get("tags", []), f"{name}: the first code cell is not its parameters cell"
    declared, tables, stores = [], [], 0
    for index, cell in enumerate(cells):
        tree = ast.parse("".join(cell["source"]))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called(node) == "notebook_grid":
                declared.append((index, tree, node))
            elif isinstance(node, ast.Call) and _called(node) in readers:
                is_fetch = (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "grid"
                            and node.func.attr == "fetch" and len(node.args) == 1 and isinstance(node.args[0], ast.Constant))
                assert is_fetch, f"{name} reads ledger rows past its grid: {ast.unparse(node)}"
                tables.append(node.args[0].value)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "grid":
                assert node.attr in ("fetch", "resolved"), f"{name} uses its grid otherwise than fetch and resolved: {ast.unparse(node)}"
            elif isinstance(node, ast.Name) and node.id == "grid" and isinstance(node.ctx, ast.Store):
                stores += 1
    assert len(declared) == 1 and stores == 1, f"{name} declares its grid {len(declared)} times, assigns it {stores} times"
    index, tree, call = declared[0]
    assert [ast.unparse(a) for a in call.args] == [repr(name), "prof"], f"{name}: {ast.unparse(call)}"
    passed = {k.arg: ast.unparse(k.value) for k in call.keywords}
    assert passed == {p: p for p in parameters if p != "profile"}, f"{name} passes its grid other than its parameters: {passed}"
    # Right after start, which resolves the profile and the seeds; nothing reassigns a parameter before.
    statements = tree.body
    start = next(i for i, s in enumerate(statements) if isinstance(s, ast.Assign) and isinstance(s.value, ast.Call)
                 and _called(s.value) == "start")
    assert statements[start + 1].value is call and start + 2 == len(statements), f"{name}: the grid is not declared right after start"
    assert all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in statements[:start]), f"{name}: code before start"
    assert index == next(i for i, c in enumerate(cells) if "start(" in "".join(c["source"]))
    assert not any(isinstance(n, ast.Name) and n.id in parameters and isinstance(n.ctx, ast.Store)
                   for c in cells[1:index] for n in ast.walk(ast.parse("".join(c["source"])))), f"{name} reassigns a parameter first"
    return index, tables


def _identity(spec) -> tuple[str, str, str]:
    if isinstance(spec, (planning.SampleScoresNeed, planning.MemorizationNeed)):
        return spec.kind, spec.key(), spec.original.code_version()
    return spec.kind, config_key(spec), spec.code_version()


def _fake_row(spec) -> dict:
    """A ledger row with what fetching it reads (tuning: its chosen settings; difficulty tables: their columns)."""
    kind, key, version = _identity(spec)
    row = stamp(key, PROFILE, version)
    if kind == "tuning":
        space = get_method(spec.experiment.method).hyperparameters.search_space
        name, (domain, *bounds) = next(iter(space.items()))
        row.update(method=spec.experiment.method, best_params=json.dumps({name: bounds[0][0] if domain == "choice" else bounds[0]}))
    elif kind == "sample_scores":
        row.update(sample=0, index=0, loss=0.1, learning_speed=1.0)
    elif kind == "memorization":
        row.update(sample=0, index=0, memorization=0.0, memorization_prob=0.0)
    return row


def _complete_ledger(name: str, parameters: dict, ledger: Ledger) -> dict[tuple, object]:
    """The ledger filled with every row the plan lists (tuning first, so that no key waits on
    one); returns the plan's rows by identity."""
    for _ in range(2):
        plan = planning.make_plan(PROFILE, [name], parameters=parameters)
        by_kind: dict[str, list[dict]] = {}
        for need in plan.pending():
            if need.known and (need.kind == "tuning" or not plan.pending("tuning")):
                by_kind.setdefault(need.spec.kind, []).append(_fake_row(need.spec))
        for kind, rows in by_kind.items():
            ledger.put(kind, pd.DataFrame(rows))
    plan = planning.make_plan(PROFILE, [name], parameters=parameters)
    assert not plan.pending(), f"{name}: the ledger is not complete"
    return {_identity(n.spec): n.spec for n in plan.needs}


def _rows_read(name: str, parameters: dict, declaring_cell: int, tables: list[str], monkeypatch) -> set[tuple]:
    """Checks 2. of the module docstring: the rows the notebook's own code looks up."""
    cells = _code_cells(name)
    namespace: dict = {}
    read: set[tuple] = set()
    rows = Ledger.rows

    def recorded(self, kind, key, code_version=None):
        read.add((kind, key, code_version))
        return rows(self, kind, key, code_version)

    monkeypatch.setattr(Ledger, "rows", recorded)
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")  # a row the plan lacks fails: nothing is computed
    # The notebook loads its training split to size a forget set; the plan reads the sizes from a
    # table (checked against the data in test_plan). Here the notebook reads the table too: no data is loaded.
    monkeypatch.setattr(notebook_grids, "FETCH", dataclasses.replace(notebook_grids.FETCH, train_size=planning.train_size))
    injected = "".join(f"{k} = {v!r}\n" for k, v in {"profile": PROFILE, **parameters}.items())
    with matplotlib.rc_context():  # start() sets the figure style
        for source in ["".join(cells[0]["source"]), injected, *["".join(c["source"]) for c in cells[1:declaring_cell + 1]]]:
            exec(compile(source, name, "exec"), namespace)
    grid = namespace["grid"]
    for table in dict.fromkeys(tables):
        assert len(grid.fetch(table)), f"{name}: table {table} is empty"
    return read


@pytest.mark.parametrize("other", [False, True], ids=["defaults", "other parameters"])
@pytest.mark.parametrize("name", list(OTHER_PARAMETERS))
def test_a_notebook_reads_the_rows_the_plan_lists(name, other, readers, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "ledger"))
    monkeypatch.chdir(ROOT)  # the notebooks' parameters cells are read from the repository
    declaring_cell, tables = _declared(name, readers)
    parameters = OTHER_PARAMETERS[name] if other else {}
    defaults = planning.notebook_parameters(ROOT / "notebooks" / f"{name}.ipynb")
    assert set(parameters) <= set(defaults) and all(defaults[k] != v for k, v in parameters.items())

    planned = _complete_ledger(name, parameters, Ledger(tmp_path / "ledger"))
    read = _rows_read(name, parameters, declaring_cell, tables, monkeypatch)

    assert read, f"{name} read no row"
    assert read <= set(planned), f"{name} reads rows the plan does not list, e.g. {sorted(read - set(planned))[:3]}"
    first = {_identity(r) for identity in read for r in planning.requirements(planned[identity])}
    missing = set(planned) - read
    assert missing <= first, f"{name}: the plan lists rows the notebook does not read, e.g. {sorted(missing - first)[:3]}"
    assert {kind for kind, _, _ in missing} <= REQUIRED_FIRST
    if other:  # the parameters change the rows: the plan planned them, not the defaults
        monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "defaults"))
        assert set(_complete_ledger(name, {}, Ledger(tmp_path / "defaults"))) != set(planned)
    capsys.readouterr()  # start() displays the setting


def test_a_grid_takes_exactly_its_notebooks_parameters():
    from unlearnlib.profiles import get_profile

    prof = get_profile(PROFILE)
    lookup = planning.ledger_lookup(ResultStore())
    with pytest.raises(TypeError, match="seeds"):
        notebook_grids.notebook_grid("01_original_models", prof, lookup=lookup, datasets=["ham10000"])
    with pytest.raises(TypeError, match="seed"):
        notebook_grids.notebook_grid("01_original_models", prof, lookup=lookup, datasets=["ham10000"], seeds=None, seed=1)
    with pytest.raises(ValueError, match="no grid for notebook '00_data'"):
        notebook_grids.notebook_grid("00_data", prof, lookup=lookup)
    assert set(notebook_grids.GRIDS) == {p.stem for p in (ROOT / "notebooks").glob("0[1-9]_*.ipynb")}
