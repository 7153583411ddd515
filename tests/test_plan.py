"""``reproduce --plan``: what the ledger lacks per notebook and kind, with its cost, computing nothing."""
from __future__ import annotations

import dataclasses

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unlearnlib.execution import plan as planning
from unlearnlib.algorithms import get_method
from unlearnlib.results.ledger import Ledger
from unlearnlib.profiles import get_profile
from unlearnlib.provenance import config_key, stamp
from unlearnlib.kinds.runner import ResultStore
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec, TuningSpec

from conftest import REAL_DATA, needs_real

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ledger_dir(tmp_path, monkeypatch):
    """An empty private ledger, which the plan and the library's own functions read."""
    path = tmp_path / "ledger"
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(path))
    monkeypatch.chdir(ROOT)  # the notebooks' parameters cells are read from the repository
    return path


def _fake_tuning_rows(results: ResultStore, specs) -> None:
    """A tuning row per spec whose best setting is the low end of the method's first searched parameter."""
    for spec in specs:
        space = get_method(spec.experiment.method).hyperparameters.search_space
        name, (kind, *bounds) = next(iter(space.items()))
        value = bounds[0][0] if kind == "choice" else bounds[0]
        results.fetch(spec, lambda: {"method": spec.experiment.method, "n_trials": spec.n_trials, "best_params": json.dumps({name: value})})


def test_the_smoke_plan_on_an_empty_ledger_lists_every_kind_with_a_cost(ledger_dir):
    started = time.perf_counter()
    plan = planning.make_plan("smoke")
    assert time.perf_counter() - started < 30
    for kind in planning.KINDS:
        pending = plan.pending(kind)
        assert pending, f"no pending {kind}"
        assert len(pending) == len([n for n in plan.needs if n.kind == kind])  # nothing is in an empty ledger
        if kind != "sample_scores":  # an evaluation: no training
            assert sum(n.trainings for n in pending) > 0, kind
            assert plan.rates[kind].source.startswith("declared default")
    assert plan.seconds > 0
    # Tuned experiments wait on their tuning run: placeholders, pending, said so.
    waiting = [n for n in plan.pending() if not n.known]
    assert waiting and all(n.kind in ("experiments", "forgetting_quality", "relearning", "ulira", "offline_lira") for n in waiting)
    text = plan.render()
    for kind, label in planning.KIND_LABELS.items():
        assert label in text
    assert f"{len(waiting)} row(s) use settings their tuning run" in text
    # Each needed row once, under the first notebook that fetches it: 06 and 07 read 02's tuned grid.
    keys = [(n.kind, config_key(n.spec) if not hasattr(n.spec, "key") else n.spec.key()) for n in plan.needs]
    assert len(keys) == len(set(keys))
    table = plan.table()
    assert set(table[table.kind == "originals"].notebook) == {"01_original_models", "02_main_benchmark"}  # 02: the tuning seed's


def test_a_row_written_to_the_ledger_is_no_longer_pending_and_times_the_kind(ledger_dir):
    before = planning.make_plan("smoke")
    original = before.pending("originals")[0].spec
    retrain = before.pending("retrains")[0].spec
    results = ResultStore()
    results.fetch(original, lambda: {"dataset": original.dataset, "n_train": 300, "train_seconds": 3.0})
    results.fetch(retrain, lambda: {"dataset": retrain.original.dataset, "method": "retrain", "forget_size": 30, "seconds": 2.5,
                                    "eval_seconds": 0.5})
    after = planning.make_plan("smoke")
    assert original not in [n.spec for n in after.pending()]
    assert retrain not in [n.spec for n in after.pending()]
    assert len(after.pending()) == len(before.pending()) - 2
    assert len(after.needs) == len(before.needs)
    # Their kinds' time now comes from the ledger's seconds: 3 s for one original's training.
    assert after.rates["originals"].source.startswith("ledger: 1 originals row")
    assert after.rates["originals"].seconds_per_training == pytest.approx(3.0)
    assert after.rates["retrains"].source.startswith("ledger: 1 retrains row")
    assert after.rates["tuning"].source.startswith("declared default")


def test_once_tuned_the_plan_holds_the_very_specs_the_notebooks_fetch(ledger_dir):
    from unlearnlib.execution import study
    from unlearnlib.execution.grid import expand_grid

    prof = get_profile("smoke")
    results = ResultStore()
    first = planning.make_plan("smoke")
    _fake_tuning_rows(results, [n.spec for n in first.pending("tuning")])
    plan = planning.make_plan("smoke")
    assert not plan.pending("tuning") and all(n.known for n in plan.needs)
    planned = {n.spec for n in plan.needs}
    # 02: the tuned grid, as study.run_study_grid builds it (tuned_settings reads the rows back, tunes nothing).
    for dataset in ("ham10000", "breastmnist"):
        tuned = expand_grid(prof, datasets=[dataset], scenarios=[("random", {"fraction": 0.1})],
                            hyperparameters=study.tuned_settings(prof, dataset))
        assert set(tuned) <= planned
        assert any(s.hyperparameters for s in tuned)
    # 07's relearning attacks, as study.main_table_specs builds them.
    attacks = study.main_table_specs(prof, datasets=["ham10000", "breastmnist"], fraction=0.1)
    assert set(attacks) <= planned
    # 03's attacks at the curve's ends, at each end's settings.
    for f in (min(prof.forget_fractions), max(prof.forget_fractions)):
        ends = study.relearn_specs(prof, datasets=["ham10000"], fraction=f, methods=["original", "retrain", *prof.focus_methods],
                                     tuning_fraction=f, seeds=list(prof.curve_seeds))
        assert set(ends) <= planned
    # Nothing was computed: the ledger holds the fake tuning rows only.
    assert {p.name for p in ledger_dir.glob("*.csv")} == {"tuning.csv"}


def test_a_complete_ledger_leaves_nothing_to_compute(ledger_dir):
    results = ResultStore()
    _fake_tuning_rows(results, [n.spec for n in planning.make_plan("smoke").pending("tuning")])
    ledger = Ledger()
    by_kind: dict[str, list] = {}
    for need in planning.make_plan("smoke").pending():
        spec = need.spec
        if isinstance(spec, (planning.SampleScoresNeed, planning.MemorizationNeed)):
            row = stamp(spec.key(), "smoke", spec.original.code_version())
        else:
            row = stamp(config_key(spec), spec.profile, spec.code_version())
        by_kind.setdefault(spec.kind, []).append(row)
    for kind, rows in by_kind.items():
        ledger.put(kind, pd.DataFrame(rows))
    plan = planning.make_plan("smoke")
    assert not plan.pending() and plan.seconds == 0
    assert "nothing to compute" in plan.render()


def test_the_command_line_prints_the_plan_and_exits_0(ledger_dir):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNLEARNLIB_LEDGER_DIR": str(ledger_dir)}
    result = subprocess.run([sys.executable, "-m", "unlearnlib", "reproduce", "--profile", "smoke", "--plan", "--notebook", "07_privacy"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Plan for profile smoke" in out and "pending" in out and "trainings" in out
    assert "07_privacy" in out and "02_main_benchmark" not in out  # only the chosen notebook, which needs 02's rows itself
    for label in ("originals", "retrains", "tuning runs", "experiments", "forgetting-quality runs", "relearning attacks", "total"):
        assert label in out
    assert not ledger_dir.exists() or not list(ledger_dir.glob("*.csv"))  # computed nothing


def test_unknown_profile_and_dataset_are_refused_naming_them(ledger_dir):
    with pytest.raises(ValueError, match="unknown profile 'nosuch'"):
        planning.make_plan("nosuch")
    with pytest.raises(ValueError, match="'chestmnist' at split seed 0.*known: ham10000"):
        planning.train_size(get_profile("cpu"), "chestmnist")


def test_cost_scales_with_the_training_set():
    cost = planning._Cost(get_profile("cpu"))
    ham = OriginalSpec.from_profile(get_profile("cpu"), "ham10000", 0)
    breast = OriginalSpec.from_profile(get_profile("cpu"), "breastmnist", 0)
    assert cost.of(ham, set()) == 1.0
    # By optimizer steps at batch 128: HAM10000 takes 60 epochs x 55 steps; BreastMNIST's 60 x 5 are under
    # the recipe's floor (min_steps 800), so it takes 160 epochs x 5 steps.
    assert cost.of(breast, set()) == pytest.approx(800 / (60 * 55))
    no_floor = planning._Cost(dataclasses.replace(get_profile("cpu"), recipe=dataclasses.replace(get_profile("cpu").recipe, min_steps=0)))
    assert no_floor.of(breast, set()) == pytest.approx(5 / 55)  # close to the size ratio 546 / 7009
    retrain = ExperimentSpec.build(ham, "random", "retrain", fraction=0.5)
    assert cost.of(retrain, set()) == pytest.approx(0.5, abs=0.02)
    method = ExperimentSpec.build(ham, "random", "finetune", fraction=0.5)
    assert cost.of(method, set()) == pytest.approx(planning.METHOD_RUN_FRACTION)
    tuning = TuningSpec(method, "retrain", 20)
    assert cost.of(tuning, set()) == pytest.approx(20 * planning.METHOD_RUN_FRACTION + cost.of(retrain, set()))


def test_the_size_for_tuning_is_chosen_as_the_library_chooses_it():
    from unlearnlib.execution.study import nearest_tuning_fraction

    prof = get_profile("cpu")
    assert nearest_tuning_fraction(prof, "ham10000", 350, 7009) == 0.05
    with pytest.raises(ValueError, match="no tuned forget size within 10 % of 1000 images"):
        nearest_tuning_fraction(prof, "ham10000", 1000, 7009)


@needs_real("ham10000", "breastmnist")
def test_the_training_split_sizes_match_the_data():
    from unlearnlib.data import ham10000
    from unlearnlib.data.splits import group_stratified_split

    meta = pd.read_csv(REAL_DATA / "ham10000" / ham10000.METADATA_FILE)
    labels = meta["dx"].map({n: i for i, n in enumerate(ham10000.CLASS_NAMES)}).to_numpy()
    split = group_stratified_split(labels, meta["lesion_id"].to_numpy(), seed=0)
    assert int((np.asarray(split) == "train").sum()) == planning.TRAIN_SPLIT_SIZES["ham10000"][0]
    with np.load(REAL_DATA / "medmnist" / "breastmnist.npz") as arrays:
        assert len(arrays["train_labels"]) == planning.TRAIN_SPLIT_SIZES["breastmnist"][None]


def test_the_time_per_training_is_the_median_over_rows_of_the_path_in_force(ledger_dir):
    """A row timed on a crowded machine (10x slow) does not set the estimate, nor do rows of
    another compute path (another speed)."""
    plan = planning.make_plan("smoke")
    originals = [n.spec for n in plan.pending("originals")]
    assert originals
    spec = originals[0]
    ledger = Ledger(ledger_dir)
    base = {"profile": "smoke", "dataset": spec.dataset, "n_train": 300}
    ledger.put("originals", pd.DataFrame([
        {**base, "key": "a", "code_version": "o1", "train_seconds": 3.0},
        {**base, "key": "b", "code_version": "o1", "train_seconds": 3.2},
        {**base, "key": "c", "code_version": "o1", "train_seconds": 31.0},  # beside other jobs
        {**base, "key": "d", "code_version": "o1~channels_last+bf16", "train_seconds": 0.1},  # another path
    ]))
    rate = planning.make_plan("smoke").rates["originals"]
    per_training = 3.2 / planning._Cost(get_profile("smoke")).training(spec.dataset, 300)
    assert rate.source.startswith("ledger: 3 originals row(s)")
    assert rate.seconds_per_training == pytest.approx(per_training)


def test_prune_drops_only_the_rows_no_notebook_reads(ledger_dir):
    plan = planning.make_plan("smoke")
    original = plan.pending("originals")[0].spec
    ResultStore().fetch(original, lambda: {"dataset": original.dataset, "n_train": 300, "train_seconds": 3.0})
    ledger = Ledger(ledger_dir)
    current = ledger.table("originals").iloc[0].to_dict()
    ledger.put("originals", pd.DataFrame([
        {**current, "key": "an-old-recipe"},  # a key no notebook asks for
        {**current, "key": "another-profile", "profile": "cpu"},  # not smoke's: left alone
    ]))
    old_version = ExperimentSpec.build(original, "random", "finetune", fraction=0.1)
    ledger.put("experiments", pd.DataFrame([
        {"key": "old-experiment", "profile": "smoke", "code_version": "p0-old", "method": "finetune"},  # code no longer current
        {"key": config_key(old_version), "profile": "smoke", "code_version": old_version.code_version(), "method": "finetune"},
    ]))
    counts = planning.prune("smoke")
    assert counts["originals"] == 1 and counts["experiments"] == 1
    assert len(ledger.table("originals")) == 3  # counted, nothing dropped
    assert planning.prune("smoke", apply=True)["originals"] == 1
    kept = Ledger(ledger_dir)
    assert set(kept.table("originals")["key"]) == {current["key"], "another-profile"}
    # experiments at tuned settings are placeholders here (tuning pending): only the old code version goes
    assert set(kept.table("experiments")["key"]) == {config_key(old_version)}
    assert planning.prune("smoke") == {kind: 0 for kind in planning.prune("smoke")}


def test_spent_sums_the_recorded_seconds_of_the_rows_the_notebooks_read(ledger_dir):
    """The cold study's cost by kind: rows the notebooks read count once, in core-seconds
    (seconds x the row's threads); rows no notebook reads count nowhere."""
    plan = planning.make_plan("smoke")
    original, other = [n.spec for n in plan.pending("originals")][:2]
    results = ResultStore()
    results.fetch(original, lambda: {"dataset": original.dataset, "n_train": 300, "train_seconds": 3.0})
    results.fetch(other, lambda: {"dataset": other.dataset, "n_train": 300, "train_seconds": 5.0})
    ledger = Ledger(ledger_dir)
    table = ledger.table("originals")
    two_threads = table[table.train_seconds == 5.0].iloc[0].to_dict()
    ledger.put("originals", pd.DataFrame([{**two_threads, "machine": "some cpu, 2 threads, torch 2"},
                                          {**two_threads, "key": "an-old-recipe", "train_seconds": 99.0}]))
    table = planning.spent(planning.make_plan("smoke")).set_index("kind")
    assert table.loc["originals", "rows"] == 2
    assert table.loc["originals", "seconds"] == pytest.approx(8.0)
    assert table.loc["originals", "core_seconds"] == pytest.approx(3.0 + 2 * 5.0)
    assert table.loc["retrains", "rows"] == 0 and table.loc["retrains", "seconds"] == 0


def test_forgetting_quality_rows_count_their_shared_retrains_once():
    cost = planning._Cost(get_profile("smoke"))
    row = {"dataset": "breastmnist", "method": "ssd", "n_models": 4, "forget_size": 20, "method_seconds": 0.5, "retrain_seconds": 40.0}
    seconds, units = planning._row_time("forgetting_quality", row, cost)
    assert seconds == pytest.approx(4 * 0.5 + 40.0)
    assert units > 8 * cost.training("breastmnist", planning.train_size(cost.profile, "breastmnist") - 20)
    old = planning._row_time("forgetting_quality", {**row, "retrain_seconds": float("nan")}, cost)
    assert old[0] == pytest.approx(2.0)  # written before retrain_seconds: the method's part only
