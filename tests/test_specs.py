"""The committed ledger stays valid: every row's spec, rebuilt from its JSON, has the row's key and,
where the method's code is unchanged, the row's code version (a move of code is not a change of method)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from unlearnlib.paths import project_root
from unlearnlib.provenance import config_key, method_code_version, plain
from unlearnlib.kinds.specs import ExperimentSpec, ForgettingQualitySpec, OriginalSpec, TuningSpec
from unlearnlib.training import TrainConfig
from unlearnlib.execution.verify import from_plain

LEDGER = project_root() / "data" / "ledger"
SPEC_KINDS = {"experiments": ExperimentSpec, "tuning": TuningSpec, "forgetting_quality": ForgettingQualitySpec}


@pytest.fixture
def committed_path(monkeypatch):
    # The committed ledger is the cpu profile's, made on its declared compute path (part of each code version).
    from unlearnlib.profiles import get_profile

    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", get_profile("cpu").compute_path)


def _method(spec) -> str:
    return getattr(spec, "experiment", spec).method  # tuning and forgetting-quality specs wrap an experiment


@pytest.mark.parametrize("kind", list(SPEC_KINDS))
def test_committed_rows_keep_their_keys_and_code_versions(kind, committed_path):
    path = LEDGER / f"{kind}.csv"
    if not path.exists():
        pytest.skip(f"no committed ledger file {path}")
    table = pd.read_csv(path)
    assert len(table) > 0
    specs = [from_plain(json.loads(text)) for text in table["spec"]]
    assert all(type(spec) is SPEC_KINDS[kind] and spec.kind == kind for spec in specs)
    assert [config_key(spec) for spec in specs] == list(table["key"])
    # A row whose method digest is today's must have exactly today's code version.
    current = [spec for spec, version in zip(specs, table["code_version"]) if version.split("-")[1] == method_code_version(_method(spec))]
    assert len(current) >= 0.95 * len(specs), f"only {len(current)} of {len(specs)} {kind} rows have today's method digest"
    rows = table.set_index("key")["code_version"]
    # Rows made before a bump of their spec type's own version tag (the tuning objective's TUNING_VERSION made
    # "p2tu" rows "p2tu2") await recomputation: the exact check covers the rows whose tag prefix is today's.
    tagged = [s for s in current if rows[config_key(s)].split("-")[0] == s.code_version().split("-")[0]]
    assert {config_key(s): s.code_version() for s in tagged} == {config_key(s): rows[config_key(s)] for s in tagged}


def test_every_experiments_original_has_its_row_under_the_same_key_and_version(committed_path):
    experiments, originals = LEDGER / "experiments.csv", LEDGER / "originals.csv"
    if not (experiments.exists() and originals.exists()):
        pytest.skip("no committed experiments and originals")
    versions = pd.read_csv(originals).set_index("key")["code_version"].to_dict()
    evaluated = {from_plain(json.loads(text)).original for text in pd.read_csv(experiments)["spec"]}
    assert evaluated and all(versions.get(config_key(o)) == o.code_version() for o in evaluated)


def test_each_spec_type_says_its_kind_label_profile_and_code_version():
    original = OriginalSpec("synthetic", 16, 0, None, "resnet_tiny", TrainConfig(epochs=1), 3, "unit")
    experiment = ExperimentSpec.build(original, "random", "ssd", fraction=0.1)
    tuning, quality = TuningSpec(experiment, "retrain", 2), ForgettingQualitySpec(experiment, n_models=4)
    digests = f"{method_code_version('ssd')}-{method_code_version('retrain')}"
    assert [s.kind for s in (original, experiment, tuning, quality)] == ["originals", "experiments", "tuning", "forgetting_quality"]
    assert [s.code_version() for s in (original, experiment, tuning, quality)] == ["o1", f"p2-{digests}", f"p2tu2-{digests}", f"p2fo2-{digests}"]
    assert {s.profile for s in (original, experiment, tuning, quality)} == {"unit"}
    assert original.label() == "the original synthetic seed 3"
    assert experiment.label() == "synthetic seed 3 random(fraction=0.1) ssd"
    assert quality.label() == "ForgettingQualitySpec of synthetic seed 3 random(fraction=0.1) ssd"
    # kind is a class attribute, not a field: keys hash fields only, so it leaves them as they were.
    assert all("kind" not in plain(s) for s in (original, experiment, tuning, quality))


def test_from_plain_names_an_unknown_spec_type():
    with pytest.raises(ValueError, match="unknown spec type 'GridSpec'; known: OriginalSpec, ExperimentSpec, TuningSpec"):
        from_plain({"__type__": "GridSpec", "seeds": [0]})
