"""The command line."""
from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.slow
def test_run_reads_a_grid_config_prints_a_summary_and_writes_parquet(tmp_path, monkeypatch, capsys):
    import pandas as pd

    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "ledger"))  # its own: `results` counts every row
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
    assert "4 experiment rows in the ledger" in capsys.readouterr().out


def test_bad_input_gives_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "run", "--profile", "smoke", "--method", "finetune"]) == 2
    assert "error: HAM10000 not found" in capsys.readouterr().err
    assert main(["run", "--profile", "nonesuch"]) == 2
    assert "unknown profile 'nonesuch'" in capsys.readouterr().err


# ---------------------------------------------------------------- grid inputs refused up front

BAD_GRIDS = {  # issue 10's four bad inputs: (config file text or None, extra arguments, the name to see)
    "unknown config key": ("profile: smoke\nmethodz: [finetune]\n", [], "'methodz'"),
    "unknown scenario parameter": (None, ["--scenario", "random:fractio=0.1"], "'fractio'"),
    "unknown hyper-parameter": ("hyperparameters: {finetune: {lrr: 0.1}}\n", ["--method", "finetune"], "'lrr'"),
    "invalid value": (None, ["--scenario", "sex:sex=other,size=350"], "sex='other'"),
}


def _bad_grid_argv(tmp_path, case: str) -> tuple[list[str], str]:
    config, extra, name = BAD_GRIDS[case]
    argv = ["--data-dir", str(tmp_path / "no-data"), "run", "--profile", "smoke", *extra]
    if config is not None:
        (tmp_path / "grid.yaml").write_text(config)
        argv += ["--config", str(tmp_path / "grid.yaml")]
    return argv, name


@pytest.mark.parametrize("case", list(BAD_GRIDS))
def test_bad_grid_inputs_exit_2_naming_the_problem_before_any_data_loads(tmp_path, monkeypatch, capsys, case):
    import unlearnlib.execution.grid

    def no_work(*args, **kwargs):
        raise AssertionError("the grid ran although its inputs are invalid")

    monkeypatch.setattr(unlearnlib.execution.grid, "expand_grid", no_work)
    argv, name = _bad_grid_argv(tmp_path, case)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err
    assert "not found" not in err  # refused before looking for the data (there is none)


def test_every_problem_is_listed_at_once(tmp_path, capsys):
    config = tmp_path / "grid.yaml"
    config.write_text("methodz: [finetune]\ndatasets: [ham1000]\nhyperparameters: {finetune: {lrr: 0.1}}\nseeds: [-1]\n")
    argv = ["run", "--config", str(config), "--profile", "cpuu", "--scenario", "random:fractio=0.1", "--scenario", "sex:sex=other,size=350"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for name in ("'methodz'", "'ham1000'", "'lrr'", "seed -1", "'cpuu'", "'fractio'", "sex='other'"):
        assert name in err
    assert "8 problems in the grid" in err  # the seven, and random's missing fraction


def test_a_scenario_parameter_without_a_value_is_refused(capsys):
    assert main(["run", "--scenario", "random:fraction"]) == 2
    assert "'fraction' in --scenario 'random:fraction' needs the form key=value" in capsys.readouterr().err


def test_an_unreadable_config_is_refused(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the grid config" in capsys.readouterr().err
    (tmp_path / "list.yaml").write_text("- random\n")
    assert main(["run", "--config", str(tmp_path / "list.yaml")]) == 2
    assert "must be a mapping" in capsys.readouterr().err


# ---------------------------------------------------------------- bad values refused before any data loads

BAD_VALUES = {  # issue 18: (config file text or None, extra arguments, what the message must say)
    "negative learning rate": ("hyperparameters: {finetune: {lr: -1}}\n", [],
                               "finetune hyper-parameter lr=-1 is not allowed; lr must be a number > 0"),
    "unknown class": (None, ["--scenario", "class:label=nosuch"],
                      "label='nosuch' is not a class of ham10000; its classes are ['akiec', 'bcc'"),
    "zero dask workers": (None, ["--dask-workers", "0"], "--dask-workers 0 is not allowed; --dask-workers must be an integer >= 1"),
    "negative dask workers": (None, ["--dask-workers", "-2"], "--dask-workers -2 is not allowed"),
}


def _bad_value_argv(tmp_path, case: str) -> tuple[list[str], str]:
    config, extra, message = BAD_VALUES[case]
    argv = ["run", "--profile", "smoke", "--method", "finetune", *extra]
    if config is not None:
        (tmp_path / "grid.yaml").write_text(config)
        argv += ["--config", str(tmp_path / "grid.yaml")]
    return argv, message


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_values_exit_2_naming_the_value_without_loading_any_data(tmp_path, monkeypatch, capsys, case):
    import dataclasses

    from unlearnlib.data import DATASETS

    def no_loading(*args, **kwargs):
        raise AssertionError("a dataset was loaded although the input is invalid")

    for name, entry in DATASETS.items():
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(entry, load=no_loading))
    argv, message = _bad_value_argv(tmp_path, case)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_loader_guard_would_catch_a_load(tmp_path, monkeypatch):
    """The guard above is real: a valid run reaches the table's loader."""
    import dataclasses

    from unlearnlib.execution import grid
    from unlearnlib.data import DATASETS

    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "ledger"))  # empty: nothing is read back
    def no_loading(*args, **kwargs):
        raise AssertionError("loaded")

    monkeypatch.setitem(DATASETS, "synthetic", dataclasses.replace(DATASETS["synthetic"], load=no_loading))
    grid._study_data.cache_clear()  # a dataset an earlier test loaded is held in memory: load afresh
    with pytest.raises(AssertionError, match="loaded"):
        main(["run", "--profile", "smoke", "--method", "finetune", "--dataset", "synthetic"])


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_the_command_refuses_each_bad_value_within_20_seconds(tmp_path, case):
    import time

    argv, message = _bad_value_argv(tmp_path, case)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "unlearnlib", "--data-dir", str(tmp_path / "no-data"), *argv],
                            capture_output=True, text=True)
    assert time.perf_counter() - start < 20
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_command_refuses_a_bad_grid_in_seconds_without_a_traceback(tmp_path):
    import time

    argv, name = _bad_grid_argv(tmp_path, "invalid value")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "unlearnlib", *argv], capture_output=True, text=True)
    assert time.perf_counter() - start < 20
    assert result.returncode == 2 and name in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_scheduler_is_one_clear_line_and_exit_2(monkeypatch, capsys):
    from unlearnlib.execution import distributed

    monkeypatch.setattr(distributed, "SCHEDULER_TIMEOUT_S", 1)
    assert main(["reproduce", "--profile", "smoke", "--dask-scheduler", "tcp://127.0.0.1:1"]) == 2
    captured = capsys.readouterr()
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in captured.err and "nothing was computed" in captured.err
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1


def test_a_full_disk_is_one_clear_line_and_exit_2_and_the_ledger_keeps_its_rows(tmp_path, monkeypatch, capsys):
    import errno

    import pandas as pd

    from unlearnlib import paths
    from unlearnlib.results.ledger import Ledger

    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path))
    Ledger(tmp_path).put("experiments", pd.DataFrame({"key": ["a"], "avg_gap": [0.1]}))
    before = (tmp_path / "experiments.csv").read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(paths, "atomic_write_bytes", full)
    monkeypatch.setattr("unlearnlib.results.ledger.atomic_write_bytes", full)
    assert main(["ledger", "repair"]) == 0  # nothing to write: nothing fails
    monkeypatch.setattr("unlearnlib.results.ledger._refuse_duplicates", lambda path, table: None)
    (tmp_path / "experiments.csv").write_bytes(before + before.splitlines(keepends=True)[1])  # a repeated key to drop
    assert main(["ledger", "repair", "--kind", "experiments"]) == 2
    err = capsys.readouterr().err
    assert "no space left on the disk that holds" in err and "every row finished before is kept" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_notebook_kernels_talk_over_ipc_so_no_transport_warning_has_a_cause():
    from unlearnlib.report.reproduce import ipc_kernel_manager

    assert ipc_kernel_manager()(kernel_name="python3").transport == "ipc"


def test_verify_finds_the_committed_rows_on_the_profiles_compute_path(monkeypatch, capsys):
    """Without activating the profile's path, no committed cpu row was current ("only 0 current,
    finished rows"): verify now runs on the path its rows name, as every other entry point does."""
    from unlearnlib.execution import verify as verify_module
    from unlearnlib.paths import project_root

    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(project_root() / "data" / "ledger"))
    monkeypatch.setattr(verify_module, "run_experiment", lambda spec, **kw: (_ for _ in ()).throw(RuntimeError(f"would recompute {spec.method}")))
    with pytest.raises(RuntimeError, match="would recompute"):
        main(["verify", "--sample", "1"])
    assert main(["verify", "--sample", "1", "--profile", "nonesuch"]) == 2
    assert "unknown profile 'nonesuch'" in capsys.readouterr().err
