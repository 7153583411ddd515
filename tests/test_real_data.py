"""Integration tests on the real data (skipped, with the reason, when it is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REAL_DATA, needs_real
from unlearnlib.cli import main
from unlearnlib.data import load_dataset

pytestmark = pytest.mark.integration


@needs_real("ham10000")
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
def test_every_notebook_runs_at_the_smoke_profile(tmp_path, monkeypatch):
    from unlearnlib.reproduce import notebook_paths, reproduce

    monkeypatch.setenv("UNLEARNLIB_DATA_DIR", str(REAL_DATA))
    written = reproduce(profile="smoke", output_dir=tmp_path)
    assert [p.name for p in written] == [p.name for p in notebook_paths()]
    figures = {p.name for p in (tmp_path / "figures").iterdir()}
    for expected in ("02_main_benchmark.png", "02_main_benchmark.pdf", "02_main_benchmark.csv", "02_original_models.csv"):
        assert expected in figures
