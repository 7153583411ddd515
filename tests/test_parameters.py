"""Rerunning one notebook with other parameters: parsing, checking, where the outputs go."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from unlearnlib.cli import main
from unlearnlib.execution.parameters import ParameterError, checked, coerce, parse_assignments


@pytest.mark.parametrize("text,expected", [("0,1,2", [0, 1, 2]), ("[0, 1, 2]", [0, 1, 2]), ("3", [3]), ("none", None), ("", None)])
def test_seeds_parse_from_the_forms_a_user_types(text, expected):
    assert coerce("seeds", text) == expected


def test_other_types_parse_and_bad_values_are_refused_by_name():
    assert coerce("methods", "all") == "all" and coerce("methods", "salun,scrub") == ["salun", "scrub"]
    assert coerce("fractions", "0.01,0.5") == [0.01, 0.5] and coerce("forget_size", "350") == 350
    assert coerce("dataset", "breastmnist") == "breastmnist" and coerce("forget_fraction", 1) == 1.0
    with pytest.raises(ParameterError, match="seeds='a' is not allowed; seeds must be a list of int"):
        coerce("seeds", "a")
    with pytest.raises(ParameterError, match="dataset='null' is not allowed; dataset must be str"):
        coerce("dataset", "null")
    with pytest.raises(ParameterError, match="unknown notebook parameter 'seed'; known: "):
        coerce("seed", "1")
    with pytest.raises(ParameterError, match="write -p NAME=VALUE"):
        parse_assignments(["seeds"])
    with pytest.raises(ParameterError, match="notebook 04_sex_bias has no parameter 'fractions'"):
        checked({"seeds": None, "dataset": "ham10000"}, {"fractions": "0.1"}, "04_sex_bias")


def test_every_notebook_parameter_has_a_declared_type():
    from unlearnlib.execution.parameters import TYPES
    from unlearnlib.paths import notebook_paths
    from unlearnlib.execution.plan import notebook_parameters

    for path in notebook_paths(None):
        for name, default in notebook_parameters(path).items():
            assert name in TYPES, f"{path.stem}'s parameter {name} has no type in unlearnlib.execution.parameters.TYPES"
            assert coerce(name, default) == default or default is None or isinstance(default, (int, float))


def test_a_notebook_start_takes_seeds_as_plain_papermill_hands_them():
    from unlearnlib.report.notebook import start

    assert start("smoke", "[0, 1, 2]")[1] == [0, 1, 2]
    with pytest.raises(ParameterError, match="seeds must be a list of int"):
        start("smoke", "[zero]")


def test_reproduce_with_parameters_plans_them_and_writes_beside_the_committed_outputs(monkeypatch, capsys, tmp_path):
    """-p flows to the plan (shown first) and to papermill; the outputs go to reruns/, never over
    the committed notebooks and figures."""
    from unlearnlib.report import reproduce as reproduce_module
    from unlearnlib.paths import project_root

    executed = {}

    def fake_execute(source, target, *, parameters, **kwargs):
        executed.update(source=source, target=target, parameters=parameters)
        raise SystemExit("stop before running")

    monkeypatch.setattr("papermill.execute_notebook", fake_execute)
    with pytest.raises(SystemExit, match="stop before running"):
        main(["reproduce", "--profile", "smoke", "--notebook", "04_sex_bias", "-p", "seeds=0,1", "--from-ledger"])
    assert executed["parameters"] == {"profile": "smoke", "seeds": [0, 1]}
    target = Path(executed["target"])
    assert project_root() / "reruns" in target.parents and target.name == "04_sex_bias.ipynb"
    shutil.rmtree(target.parent)  # the run stopped before writing anything into it

    capsys.readouterr()
    assert main(["reproduce", "--profile", "smoke", "--notebook", "04_sex_bias", "-p", "seeds=0", "--plan"]) == 0
    assert "Plan for profile smoke" in capsys.readouterr().out

    committed = project_root() / "figures"
    assert main(["reproduce", "--notebook", "04_sex_bias", "-p", "seeds=0", "--output-dir", str(committed)]) == 2
    assert "holds the committed outputs of the default parameters" in capsys.readouterr().err
    assert main(["reproduce", "-p", "seeds=0"]) == 2
    assert "name it with --notebook" in capsys.readouterr().err
    assert main(["reproduce", "--notebook", "04_sex_bias", "-p", "fractions=0.1"]) == 2
    assert "has no parameter 'fractions'" in capsys.readouterr().err
    assert reproduce_module.RERUNS == "reruns"
