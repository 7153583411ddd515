"""The committed forget sets: one row per forget set, keyed like its retrain, and their overlap."""
import numpy as np
import pandas as pd
import pytest

from conftest import needs_real
from unlearnlib.execution import forget_sets
from unlearnlib.profiles import get_profile
from unlearnlib.provenance import config_key
from unlearnlib.kinds.specs import TUNING_SEED, ExperimentSpec, OriginalSpec


def _spec(seed: int, method: str = "finetune", fraction: float = 0.1) -> ExperimentSpec:
    original = OriginalSpec.from_profile(get_profile("smoke"), "breastmnist", seed)
    return ExperimentSpec.build(original, "random", method, hyperparameters={"lr": 0.1} if method == "finetune" else None,
                                fraction=fraction)


def test_one_forget_set_per_retrain_whatever_the_method():
    specs = [_spec(0, "finetune"), _spec(0, "retrain"), _spec(1, "finetune"), _spec(0, "finetune", 0.2)]
    found = forget_sets.experiments_of(specs)
    assert len(found) == 3
    assert all(e.method == "retrain" and e.hyperparameters == () for e in found)
    assert config_key(found[0]) == config_key(_spec(0, "retrain"))


def test_write_replaces_a_key_and_keeps_rows_sorted(tmp_path):
    file = tmp_path / "forget_sets.csv"
    forget_sets.write([forget_sets.record_row(_spec(1), np.array([5, 2, 9]))], file)
    forget_sets.write([forget_sets.record_row(_spec(0), np.array([1, 3])), forget_sets.record_row(_spec(1), np.array([4, 2]))], file)
    table = forget_sets.read(file)
    assert list(table["key"]) == sorted(table["key"]) and len(table) == 2
    row = table[table["seed"] == 1].iloc[0]
    assert forget_sets.indices(row).tolist() == [2, 4] and row["forget_size"] == 2


def test_overlap_counts_shared_images_and_leaves_the_tuning_seed_out():
    rows = [forget_sets.record_row(_spec(0), np.array([1, 2, 3, 4])), forget_sets.record_row(_spec(1), np.array([3, 4, 5, 6])),
            forget_sets.record_row(_spec(TUNING_SEED), np.array([1, 2, 3, 4]))]
    table = forget_sets.overlap_table(pd.DataFrame(rows))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["seeds"] == 2
    assert row["mean_pairwise_jaccard"] == pytest.approx(2 / 6)
    assert row["share_in_several_seeds"] == pytest.approx(2 / 6)  # images 3 and 4 of 1..6


@needs_real("breastmnist")
def test_recorded_forget_set_is_the_split_the_experiment_uses(tmp_path):
    from unlearnlib.kinds.originals import load_study_data
    from unlearnlib.kinds.runner import ResultStore, forget_split

    spec = _spec(0)
    file = tmp_path / "forget_sets.csv"
    assert forget_sets.record([spec], results=ResultStore(tmp_path / "ledger"), file=file) == 1
    assert forget_sets.record([spec], results=ResultStore(tmp_path / "ledger"), file=file) == 0  # nothing missing: nothing redone
    recorded = forget_sets.indices(forget_sets.read(file).iloc[0])
    split = forget_split(spec, load_study_data(spec.original))
    assert np.array_equal(recorded, np.sort(split.forget))
