"""Grid inputs checked against the registries' declarations before any work."""
from __future__ import annotations

import pytest

from unlearnlib.execution.validation import GRID_KEYS, GridError, grid_problems, validate_grid

VALID = {
    "profile": "smoke",
    "datasets": ["synthetic", "ham10000"],
    "scenarios": [["random", {"fraction": 0.1}], ["sex", {"sex": "female", "size": 350, "unit": "image"}],
                  ("difficulty", {"kind": "hard", "size": 20, "score": "loss"}), ["class", {"label": 1}]],
    "methods": ["finetune", "scrub"],
    "seeds": [0, 1],
    "hyperparameters": {"finetune": {"lr": 1, "epochs": 2}, "retrain": {"epochs": None}, "scrub": {"temperature": 2.0}},
}


def test_a_valid_grid_passes():
    assert grid_problems(VALID) == []
    validate_grid(VALID)
    validate_grid({**VALID, "methods": "all", "seeds": None, "hyperparameters": None})
    validate_grid({})  # keys left out are the caller's defaults


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"methodz": ["finetune"]}, "unknown grid key 'methodz' (did you mean 'methods'?); known: profile, datasets"),
        ({"profile": "laptop"}, "unknown profile 'laptop'; known: smoke, cpu, gpu"),
        ({"datasets": ["ham1000"]}, "unknown dataset 'ham1000' (did you mean 'ham10000'?); known: ham10000,"),
        ({"datasets": "ham10000"}, "datasets must be a non-empty list of dataset names"),
        ({"scenarios": [["random", {"fraction": 0.1, "fractio": 0.1}]]}, "unknown parameter 'fractio' for scenario 'random'; its parameters are fraction, unit"),
        ({"scenarios": [["sex", {"size": 10}]]}, "scenario 'sex' needs the parameter 'sex' (one of 'male', 'female', 'mixed')"),
        ({"scenarios": [["random", {"fraction": 1.5}]]}, "fraction=1.5 is not allowed; fraction must be a number in (0, 1)"),
        ({"scenarios": [["sex", {"sex": "other", "size": 350}]]}, "sex='other' is not allowed; sex must be one of 'male', 'female', 'mixed'"),
        ({"scenarios": [["sex", {"sex": "male", "size": -5}]]}, "size=-5 is not allowed; size must be an integer >= 1"),
        ({"scenarios": [["random", {"fraction": 0.1, "unit": "lesion"}]]}, "unit='lesion' is not allowed; unit must be one of 'group', 'image'"),
        ({"scenarios": [["lesions", {}]]}, "unknown scenario 'lesions'; known scenarios: class, difficulty, patient, random, sex"),
        ({"scenarios": ["random"]}, "a scenario must be a [name, {parameter: value}] pair"),
        ({"methods": ["finetun"]}, "unknown method 'finetun' (did you mean 'finetune'?); known: original, retrain"),
        ({"methods": []}, "methods must be 'all' or a non-empty list"),
        ({"seeds": [0, -1]}, "seed -1 is not allowed; seeds must be non-negative integers"),
        ({"seeds": 3}, "seeds must be a non-empty list of non-negative integers"),
        ({"hyperparameters": {"finetune": {"lrr": 0.1}}}, "unknown hyper-parameter 'lrr' of method 'finetune' (did you mean 'lr'?); known: epochs, lr"),
        ({"hyperparameters": {"finetune": {"epochs": 2.5}}}, "finetune hyper-parameter epochs=2.5 is not allowed; epochs must be an integer >= 1 (default 5)"),
        ({"hyperparameters": {"finetune": {"lr": "fast"}}}, "finetune hyper-parameter lr='fast' is not allowed; lr must be a number > 0 (default 0.01)"),
        ({"hyperparameters": {"finetune": {"epochs": True}}}, "epochs=True is not allowed"),
        ({"hyperparameters": {"retrain": {"epochs": "all"}}}, "epochs must be an integer >= 1 or None (null) (default None)"),
        ({"hyperparameters": {"finetun": {"lr": 0.1}}}, "unknown method 'finetun' in hyperparameters (did you mean 'finetune'?)"),
        ({"hyperparameters": {"finetune": 0.1}}, "hyperparameters of 'finetune' must map a field to a value"),
        ({"hyperparameters": {"finetune": {"lr": -1}}}, "finetune hyper-parameter lr=-1 is not allowed; lr must be a number > 0 (default 0.01)"),
        ({"hyperparameters": {"finetune": {"epochs": 0}}}, "epochs=0 is not allowed; epochs must be an integer >= 1"),
        ({"hyperparameters": {"salun": {"saliency": 1.5}}}, "salun hyper-parameter saliency=1.5 is not allowed; saliency must be a number in (0, 1]"),
        ({"hyperparameters": {"neggrad_plus": {"alpha": 2}}}, "alpha=2 is not allowed; alpha must be a number in [0, 1]"),
        ({"datasets": ["synthetic"], "scenarios": [["class", {"label": "nosuch"}]]}, "scenario 'class': label='nosuch' is not a class of synthetic; its classes are ['class0', 'class1', 'class2']"),
        ({"scenarios": [["class", {"label": 3}]]}, "scenario 'class': label=3 is not a class of synthetic; labels are 0..2"),
        ({"datasets": ["breastmnist"], "scenarios": [["sex", {"sex": "male", "size": 10}]]},
         "scenario 'sex' needs a dataset that records patient sex; 'breastmnist' does not (datasets with sex: ham10000, chexpert"),
    ],
)
def test_each_problem_names_the_bad_key_or_value_and_what_is_allowed(change, expected):
    problems = grid_problems({**VALID, **change})
    assert len(problems) == 1 and expected in problems[0], problems
    with pytest.raises(GridError, match="1 problem in the grid") as raised:
        validate_grid({**VALID, **change})
    assert raised.value.problems == problems
    assert isinstance(raised.value, ValueError)  # the command line's "user error": exit 2


def test_a_misspelt_parameter_is_named_and_the_missing_one_too():
    problems = grid_problems({"scenarios": [["random", {"fractio": 0.1}]]})
    assert problems == [
        "unknown parameter 'fractio' for scenario 'random'; its parameters are fraction, unit",
        "scenario 'random' needs the parameter 'fraction' (a number in (0, 1))",
    ]


def test_problems_are_collected_not_stopped_at_the_first():
    bad = {"methodz": 1, "profile": "x", "datasets": ["y"], "scenarios": [["random", {}]], "methods": ["z"], "seeds": [-1],
           "hyperparameters": {"finetune": {"lrr": 1}}}
    problems = grid_problems(bad)
    assert len(problems) == 7
    assert [p.split()[0] for p in problems[:1]] == ["unknown"] and "'methodz'" in problems[0]


def test_not_a_mapping():
    assert "a grid is a mapping with keys profile" in grid_problems([["random", {}]])[0]
    assert set(GRID_KEYS) == {"profile", "datasets", "scenarios", "methods", "seeds", "hyperparameters"}


def test_every_methods_hyperparameter_types_are_understood():
    # Each declared field's default passes its own type check: the check reads every annotation.
    import dataclasses

    from unlearnlib.algorithms import available, get_method

    for name in available():
        defaults = {f.name: f.default for f in dataclasses.fields(get_method(name).hyperparameters)}
        assert grid_problems({"hyperparameters": {name: defaults}}) == [], name


def test_a_class_name_is_checked_against_each_dataset_of_the_grid():
    grid = {"datasets": ["ham10000", "breastmnist"], "scenarios": [["class", {"label": "nv"}]]}
    assert grid_problems(grid) == [
        "scenario 'class': label='nv' is not a class of breastmnist; its classes are ['malignant', 'normal, benign']"]
    assert grid_problems({**grid, "datasets": ["ham10000"]}) == []
    # A scenario whose parameters are already wrong is reported once, not again per dataset.
    assert len(grid_problems({**grid, "scenarios": [["class", {"label": True}]]})) == 1


def test_every_hyperparameter_of_every_method_has_a_declared_domain():
    from dataclasses import fields

    from unlearnlib.algorithms import available, get_method, hyperparameter_domain
    from unlearnlib.constraints import satisfied

    for method in available():
        for field in fields(get_method(method).hyperparameters):
            domain = hyperparameter_domain(method, field.name)
            assert domain is not None, (
                f"{method}.{field.name} has no declared domain: add {field.name!r} to the `domains` of its "
                f"hyper-parameters in unlearnlib/algorithms/{method}.py")
            assert satisfied(field.default, domain), f"{method}.{field.name}: the default {field.default!r} is outside its domain"


def test_every_tuning_search_space_lies_inside_the_declared_domain():
    from unlearnlib.algorithms import available, get_method, hyperparameter_domain
    from unlearnlib.constraints import satisfied

    for method in available():
        for field, (kind, *bounds) in get_method(method).hyperparameters.search_space.items():
            values = bounds[0] if kind == "choice" else bounds
            domain = hyperparameter_domain(method, field)
            assert all(satisfied(v, domain) for v in values), (method, field, kind, bounds)
