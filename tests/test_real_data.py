"""Integration tests on the real data (skipped, with the reason, when it is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REAL_DATA, needs_real
from unlearnlib.cli import main
from unlearnlib.data import load_dataset

pytestmark = pytest.mark.integration


@needs_real("ham10000")
@pytest.mark.slow
def test_ham10000_split_is_lesion_disjoint_stratified_and_deterministic():
    data = load_dataset("ham10000", data_dir=REAL_DATA)
    assert data.images.shape == (10015, 3, 28, 28) and data.num_classes == 7
    meta = data.metadata
    lesions = {split: set(rows["group"]) for split, rows in meta.groupby("split")}
    assert not (lesions["train"] & lesions["val"] or lesions["train"] & lesions["test"] or lesions["val"] & lesions["test"])
    shares = meta["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.7, abs=0.02) and shares["val"] == pytest.approx(0.1, abs=0.02)
    # Stratified: each split's diagnosis mix within 2 points of the whole's.
    mix = meta.groupby("split")["label"].value_counts(normalize=True).unstack()
    assert (mix.sub(meta["label"].value_counts(normalize=True), axis=1).abs() < 0.02).all().all()
    assert set(meta["sex"]) == {"male", "female", "unknown"}
    again = load_dataset("ham10000", data_dir=REAL_DATA)
    np.testing.assert_array_equal(again.metadata["split"], meta["split"])
    other = load_dataset("ham10000", data_dir=REAL_DATA, split_seed=1)
    assert (other.metadata["split"] != meta["split"]).any()


@needs_real("breastmnist")
def test_breastmnist_keeps_the_official_split():
    data = load_dataset("breastmnist", data_dir=REAL_DATA)
    assert data.images.shape == (780, 1, 28, 28)
    assert data.metadata["split"].value_counts().to_dict() == {"train": 546, "test": 156, "val": 78}
    assert data.metadata["sex"].isna().all()


@needs_real("ham10000", "breastmnist")
def test_data_check_finds_everything(capsys):
    assert main(["--data-dir", str(REAL_DATA), "data", "check"]) == 0
    assert "10015 images, 7470 lesions, 10015 image checksums verified" in capsys.readouterr().out


@needs_real("ham10000", "breastmnist")
@pytest.mark.slow
def test_every_notebook_runs_at_the_smoke_profile(tmp_path, monkeypatch):
    from unlearnlib.report.reproduce import notebook_paths, reproduce

    monkeypatch.setenv("UNLEARNLIB_DATA_DIR", str(REAL_DATA))
    written = reproduce(profile="smoke", output_dir=tmp_path)
    assert [p.name for p in written] == [p.name for p in notebook_paths()]
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    expected = [
        "00_class_sex_counts.csv", "00_split_sizes.csv", "00_age_distribution.png", "00_examples_ham10000.png",
        "01_original_models.csv", "01_training_curves.png", "02_main_benchmark.csv", "02_main_benchmark.md", "02_main_benchmark.png",
        "03_forget_size.csv", "03_forget_size.png", "03_forget_size_tuned_once.csv", "03_collapses.csv",
        "03_tuned_settings_by_size.csv", "03_tuning_transfer.png", "04_sex_bias_differences.csv", "04_sex_bias.png", "05_difficulty_scores.png",
        "05_easiest_hardest.png", "05_difficulty.png", "06_efficiency.png", "06_tuning_cost.csv", "06_tuned_vs_default.csv",
        "06_sensitivity.png", "07_attacks.png", "07_forgetting_quality.csv", "07_per_example.csv", "07_per_example_cost.csv", "07_per_example_roc.png", "08_patient_level.png", "report.html",
    ]
    missing = [name for name in expected if name not in figures]
    missing += [name.replace(".png", ".pdf") for name in expected if name.endswith(".png") and name.replace(".png", ".pdf") not in figures]
    assert not missing, f"notebooks did not write {missing}"


@needs_real("ham10000", "breastmnist")
@pytest.mark.slow
def test_gpu_profile_runs_end_to_end_at_miniature_scale(tmp_path, monkeypatch):
    """The gpu profile's path (resnet18, HAM10000 at 64 px from the JPEGs, BreastMNIST at its
    28 px file) on the CPU, at a miniature scale: a few images per split, one epoch."""
    import dataclasses

    from unlearnlib.execution.grid import expand_grid, run_grid
    from unlearnlib.profiles import get_profile

    monkeypatch.setenv("UNLEARNLIB_DATA_DIR", str(REAL_DATA))
    gpu = get_profile("gpu")
    mini = dataclasses.replace(gpu, name="gpu-mini", recipe=dataclasses.replace(gpu.recipe, epochs=1, batch_size=32),
                               max_per_split=60, seeds=(0,))
    specs = expand_grid(mini, datasets=["ham10000", "breastmnist"], scenarios=[("random", {"fraction": 0.1})],
                        methods=["original", "finetune"], hyperparameters={"finetune": {"epochs": 1}})
    table = run_grid(specs, cache_root=tmp_path, progress=False).set_index(["dataset", "method"])
    assert table.loc[("ham10000", "finetune"), "image_size"] == 64 and table.loc[("breastmnist", "finetune"), "image_size"] == 28
    # One epoch on 60 images may well predict a single class ("collapsed"); it must not diverge.
    assert (table["model"] == "resnet18").all() and not table["status"].str.startswith("diverged").any()
    assert (table.loc[table.index.get_level_values("method") == "retrain", "init_seed"] != 0).all()
