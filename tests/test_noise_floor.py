"""The noise floor: a second retrain per retrain of every analysis with a verdict, and the margins derived from the pairs."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from unlearnlib.evaluation import floor_margins
from unlearnlib.kinds import noise_floor as nf
from unlearnlib.execution import notebook_grids, plan as planning
from unlearnlib.kinds.registry import kind_of
from unlearnlib.results.ledger import Ledger
from unlearnlib.evaluation.metrics import GAP_METRICS, average_gap
from unlearnlib.kinds.originals import load_study_data
from unlearnlib.profiles import Profile, get_profile
from unlearnlib.provenance import config_key
from unlearnlib.kinds.runner import ResultStore, forget_split, run_experiment
from unlearnlib.kinds.specs import PIPELINE_VERSION, ExperimentSpec, OriginalSpec, retrain_seed
from unlearnlib.execution.tasks import compute_row, driver_settings
from unlearnlib.training import TrainConfig
from unlearnlib.execution.verify import from_plain

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "ledger"
UNIT = Profile(name="unit", model="resnet_tiny", image_size=16, recipe=TrainConfig(epochs=2, batch_size=32), seeds=(0,))
UNIT_RETRAIN = ExperimentSpec.build(OriginalSpec.from_profile(UNIT, "synthetic", 0), "random", "retrain", fraction=0.1)


def test_a_spec_replicates_a_retrain_only_and_from_replica_1():
    with pytest.raises(ValueError, match="'finetune'"):
        nf.NoiseFloorSpec(ExperimentSpec.build(UNIT_RETRAIN.original, "random", "finetune", fraction=0.1))
    for replica in (0, -1, 1.0):
        with pytest.raises(ValueError, match=f"got {replica!r}"):
            nf.NoiseFloorSpec(UNIT_RETRAIN, replica)
    spec = nf.NoiseFloorSpec(UNIT_RETRAIN, 2)
    assert spec.init_seed == retrain_seed(0, 2) != retrain_seed(0) and spec.profile == "unit"
    # Its own key and version: never a retrain row's; the version names the retraining code and the compute path.
    assert config_key(spec) not in (config_key(UNIT_RETRAIN), config_key(nf.NoiseFloorSpec(UNIT_RETRAIN, 1)))
    assert spec.code_version().startswith(f"p{PIPELINE_VERSION}nf{nf.NOISE_FLOOR_VERSION}")
    assert spec.code_version().endswith(UNIT_RETRAIN.code_version().split("-", 1)[1])  # the retraining code's digests, the path


def test_a_replica_trains_from_another_initialisation_on_the_retain_set_only(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))  # every model trains here; the task below reads them
    retrain_module = importlib.import_module("unlearnlib.algorithms.retrain")
    fits, real_fit = [], retrain_module.fit
    monkeypatch.setattr(retrain_module, "fit", lambda model, data, recipe, *, seed, **kw: fits.append((data.x.clone(), seed))
                        or real_fit(model, data, recipe, seed=seed, **kw))
    results, spec = ResultStore(tmp_path / "ledger"), nf.NoiseFloorSpec(UNIT_RETRAIN)
    row = nf.run_noise_floor(spec, results=results)

    retrain = run_experiment(UNIT_RETRAIN, results=results)  # computed first, as the noise-floor row requires
    assert [seed for _, seed in fits] == [retrain_seed(0), retrain_seed(0, 1)]
    assert row["init_seed"] == retrain_seed(0, 1) != row["retrain_init_seed"] == retrain["init_seed"]
    data = load_study_data(UNIT_RETRAIN.original)
    split = forget_split(UNIT_RETRAIN, data)
    forget = {x.numpy().tobytes() for x in data.tensors.subset(split.forget).x}
    for images, _ in fits:  # every image of the retain set, none of the forget set
        assert len(images) == len(split.retain) and not forget & {x.numpy().tobytes() for x in images}
    for metric in (*GAP_METRICS, "val_acc", "loss_attack"):
        assert row[f"retrain_{metric}"] == pytest.approx(retrain[metric], nan_ok=True)
        assert row[f"diff_{metric}"] == pytest.approx(row[f"replica_{metric}"] - retrain[metric], nan_ok=True)
    replica = {m: row[f"replica_{m}"] for m in GAP_METRICS}
    assert row["avg_gap"] == pytest.approx(average_gap(replica, {m: retrain[m] for m in GAP_METRICS}, GAP_METRICS))
    assert row["replica"] == 1 and row["forget_size"] == retrain["forget_size"] and row["scenario_fraction"] == 0.1
    assert json.loads(row["spec"])["__type__"] == "NoiseFloorSpec" and row["code_version"] == spec.code_version()

    # Read back, not recomputed; the graph's task computes the same row with the kind's own function.
    assert nf.run_noise_floor(spec, results=results) == row and len(fits) == 2
    added = compute_row(spec, {}, driver_settings())
    assert set(added) == {"originals", "experiments", "noise_floor"} and len(fits) == 2  # the models from the cache
    task_row = added["noise_floor"].iloc[0]
    for metric in ("replica_retain_acc", "replica_forget_acc", "replica_test_acc", "diff_forget_acc"):
        assert task_row[metric] == pytest.approx(row[metric])


def test_the_kind_requires_the_retrain_row_and_costs_a_retrain():
    prof = get_profile("cpu")
    original = OriginalSpec.from_profile(prof, "ham10000", 0)
    retrain = ExperimentSpec.build(original, "random", "retrain", fraction=0.1)
    hard = ExperimentSpec.build(original, "difficulty", "retrain", kind="hard", size=350, score="memorization")
    kind, cost = kind_of(nf.NoiseFloorSpec(retrain)), planning._Cost(prof)
    assert kind.name == kind.ledger == "noise_floor" and kind.requires(nf.NoiseFloorSpec(retrain)) == [original, retrain]
    assert kind.requires(nf.NoiseFloorSpec(hard))[-1] == hard and len(kind.requires(nf.NoiseFloorSpec(hard))) == 4  # scores and memorization
    assert cost.of(retrain, set()) > 0 and cost.of(nf.NoiseFloorSpec(retrain), set()) == pytest.approx(cost.of(retrain, set()))
    row = {"dataset": "ham10000", "forget_size": 701, "seconds": 300.0}
    assert planning._row_time("noise_floor", row, cost) == pytest.approx((300.0, cost.retrain(retrain)), rel=1e-3)


# ----------------------------------------------------------------------------- the pooled set


def _committed_retrain_keys() -> set[str]:
    table = Ledger(COMMITTED).table("experiments")
    return set(table.loc[table["method"] == "retrain", "key"].astype(str))


@pytest.mark.skipif(not (COMMITTED / "experiments.csv").exists(), reason="no committed ledger")
def test_the_pooled_set_replicates_the_retrain_rows_the_notebooks_read_and_keys_are_unchanged():
    # The committed rows' keys are those of their specs rebuilt: this work re-keys no retrain or experiment.
    table = Ledger(COMMITTED).table("experiments")
    sample = table[table["profile"] == "cpu"].groupby(["method", "scenario"]).head(1)
    assert len(sample) > 10
    for row in sample.to_dict("records"):
        assert config_key(from_plain(json.loads(row["spec"]))) == row["key"], row["method"]

    prof = get_profile("cpu")
    specs = notebook_grids.noise_floor_specs(prof)
    # The analyses' retrains, built by hand: each is a committed retrain row the notebook reads, and has a replica.
    def retrains(dataset, scenario, seeds, **params):
        return [ExperimentSpec.build(OriginalSpec.from_profile(prof, dataset, s), scenario, "retrain", **params) for s in seeds]

    expected = {
        "main table": [e for d in ("ham10000", "breastmnist") for e in retrains(d, "random", prof.seeds, fraction=0.1)],
        "forget-size curve ends": [e for f in (0.01, 0.5) for e in retrains("ham10000", "random", prof.curve_end_seeds, fraction=f)],
        "sex": [e for s in ("male", "female") for e in retrains("ham10000", "sex", prof.seeds, sex=s, size=350)],
        "difficulty": [e for k in ("easy", "hard") for e in retrains("ham10000", "difficulty", prof.seeds, kind=k, size=350,
                                                                  score="memorization")],
        "patient level": [e for u in ({"unit": "image"}, {}) for e in retrains("ham10000", "random", prof.seeds, fraction=0.1, **u)],
    }
    committed = _committed_retrain_keys()
    for analysis in nf.ANALYSES:
        assert set(notebook_grids.analysis_retrains(analysis, prof)) == set(expected[analysis.name]), analysis.name
        assert {config_key(e) for e in expected[analysis.name]} <= committed, analysis.name
    pooled = {e for es in expected.values() for e in es}
    assert {s.experiment for s in specs} == pooled and len(specs) == len(set(specs))
    # 50 HAM10000 retrains (02's whole-lesion set is 08's second arm): one replica each; BreastMNIST's 5 get two each.
    replicas = pd.Series([(s.experiment.original.dataset, s.replica) for s in specs]).value_counts()
    assert replicas.to_dict() == {("ham10000", 1): 50, ("breastmnist", 1): 5, ("breastmnist", 2): 5}


def test_the_plan_lists_the_pooled_noise_floor_once_whatever_a_notebooks_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path / "ledger"))
    monkeypatch.chdir(ROOT)
    prof = get_profile("cpu")
    plan = planning.make_plan("cpu")
    pending = plan.pending("noise_floor")
    assert {n.spec for n in pending} == set(notebook_grids.noise_floor_specs(prof)) and len(pending) == 60
    assert {n.notebook for n in pending} == {"02_main_benchmark"}  # the first notebook that fetches them
    assert all(n.trainings > 0 and n.known for n in pending) and "noise-floor retrains" in plan.render()
    other = planning.make_plan("cpu", ["04_sex_bias"], parameters={"seeds": [1], "forget_size": 140})
    assert {n.spec for n in other.pending("noise_floor")} == set(notebook_grids.noise_floor_specs(prof))


# ----------------------------------------------------------------------------- margins


def _rows(dataset: str, diffs, gaps=None) -> pd.DataFrame:
    diffs = np.asarray(diffs, dtype=float)
    return pd.DataFrame({"dataset": dataset, **{f"diff_{m}": diffs for m in GAP_METRICS},
                         "avg_gap": np.abs(diffs) if gaps is None else gaps, "key": [f"{dataset}{i}" for i in range(len(diffs))]})


def test_a_margin_is_the_declared_quantile_of_the_absolute_differences_per_dataset():
    signs = np.where(np.arange(20) % 2, -1.0, 1.0)
    a = _rows("a", signs * np.arange(1, 21) / 100, gaps=np.arange(1, 21) / 1000)
    b = _rows("b", np.full(12, 0.5))
    table = nf.margins(pd.concat([b, a, a.head(3)]))  # a key counted once
    assert nf.MARGIN_QUANTILE == 0.95 and nf.MIN_PAIRS == 10
    assert set(table["metric"]) == {*GAP_METRICS, "avg_gap"} and list(table.dataset.unique()) == ["a", "b"]
    # 20 sorted values 0.01 ... 0.20: the 95th percentile lies at position 0.95 x 19 = 18.05, between 0.19 and 0.20.
    assert floor_margins.margin(table, "a", "forget_acc") == pytest.approx(0.1905)
    assert floor_margins.margin(table, "a", "avg_gap") == pytest.approx(0.01905)
    assert floor_margins.margin(table, "b", "mia_efficacy") == pytest.approx(0.5)  # another dataset's pairs are not pooled in
    row = table[(table.dataset == "a") & (table.metric == "test_acc")].iloc[0]
    assert row["pairs"] == 20 and row["statistic"] == "95th percentile of |retrain replica - retrain| over 20 pairs"
    reason = floor_margins.reason(table, "a", "test_acc")  # the reason the verdicts print (unlearnlib.evaluation.floor_margins)
    assert f"{row['margin']:.3f}" in reason and row["statistic"] in reason and " a:" in reason
    with pytest.raises(KeyError, match="no margin for 'test_acc' on 'c'"):
        floor_margins.margin(table, "c", "test_acc")


def test_too_few_pairs_on_a_dataset_are_refused_naming_it():
    with pytest.raises(ValueError, match=r"dataset 'b' has 9 retrain-vs-retrain pairs .*MIN_PAIRS = 10"):
        nf.margins(pd.concat([_rows("a", np.ones(10)), _rows("b", np.ones(9))]))
    nan_heavy = _rows("a", [*np.ones(10)])
    nan_heavy.loc[:1, "diff_forget_acc"] = np.nan  # a pair without the metric does not count
    with pytest.raises(ValueError, match="8 retrain-vs-retrain pairs of forget_acc"):
        nf.margins(nan_heavy)
