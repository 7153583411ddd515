"""Loaders, splits and data errors, on small files the tests make."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from unlearnlib.data import (
    ChecksumError,
    DatasetNotFoundError,
    UnknownDatasetError,
    check_datasets,
    ham10000,
    load_dataset,
    make_synthetic,
)
from unlearnlib.data.splits import group_stratified_split


def _groups_per_split(metadata: pd.DataFrame) -> dict[str, set]:
    return {split: set(rows["group"]) for split, rows in metadata.groupby("split")}


def test_synthetic_dataset_has_the_documented_shape(synthetic):
    assert synthetic.images.dtype == np.uint8 and synthetic.images.shape == (400, 1, 16, 16)
    assert set(synthetic.metadata["sex"]) == {"male", "female"}
    assert {"split", "label", "sex", "age", "group"} <= set(synthetic.metadata.columns)
    assert (synthetic.metadata["label"].to_numpy() == synthetic.labels).all()


def test_split_keeps_each_group_in_one_split_and_is_deterministic():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 300, 1000)
    labels = groups % 4  # one label per group, as one diagnosis per lesion
    first = group_stratified_split(labels, groups, seed=3)
    again = group_stratified_split(labels, groups, seed=3)
    other = group_stratified_split(labels, groups, seed=4)
    assert (first == again).all()
    assert (first != other).any()
    frame = pd.DataFrame({"split": first, "group": groups})
    sets = _groups_per_split(frame)
    assert not (sets["train"] & sets["val"] or sets["train"] & sets["test"] or sets["val"] & sets["test"])
    shares = frame["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.7, abs=0.05) and shares["test"] == pytest.approx(0.2, abs=0.05)


def test_limit_subsamples_each_split():
    data = make_synthetic(n_samples=400, seed=0).limit(20, seed=0)
    assert data.metadata["split"].value_counts().max() == 20
    assert len(data.images) == len(data.metadata) == len(data.labels)


# --- HAM10000 loader on a miniature official layout -------------------------------------


@pytest.fixture
def mini_ham(tmp_path, monkeypatch):
    """80 lesions, 100 images at 30x20 in two sub-folders, metadata, and an MD5SUMS file."""
    root = tmp_path / "ham10000"
    rng = np.random.default_rng(0)
    rows, sums = [], []
    for i in range(100):
        image_id = f"ISIC_{i:07d}"
        folder = root / ("HAM10000_images_part_1" if i % 2 else "HAM10000_images_part_2")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{image_id}.jpg"
        Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(path)
        sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.relative_to(root)}")
        lesion = i % 80
        rows.append({"lesion_id": f"HAM_{lesion:07d}", "image_id": image_id, "dx": ham10000.CLASS_NAMES[lesion % 7],
                     "dx_type": "histo", "age": 50.0, "sex": ["male", "female", "unknown"][lesion % 3], "localization": "back"})
    pd.DataFrame(rows).to_csv(root / "HAM10000_metadata.csv", index=False)
    (root / "MD5SUMS_images.txt").write_text("\n".join(sums) + "\n")
    monkeypatch.setattr(ham10000, "METADATA_MD5", hashlib.md5((root / "HAM10000_metadata.csv").read_bytes()).hexdigest())
    return tmp_path


def test_ham_loader_reads_any_subfolder_and_resizes(mini_ham, tmp_path):
    data = load_dataset("ham10000", data_dir=mini_ham, image_size=16, cache_dir=tmp_path / "cache")
    assert data.images.shape == (100, 3, 16, 16)
    assert set(data.metadata["sex"]) == {"male", "female", "unknown"}
    sets = _groups_per_split(data.metadata)
    assert not (sets["train"] & sets["test"] or sets["train"] & sets["val"] or sets["val"] & sets["test"])
    again = load_dataset("ham10000", data_dir=mini_ham, image_size=16, cache_dir=tmp_path / "cache")
    assert (again.images == data.images).all() and len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_ham_checksum_mismatch_raises(mini_ham, tmp_path):
    victim = next((mini_ham / "ham10000").rglob("ISIC_0000003.jpg"))
    Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(victim)  # same name, other content
    with pytest.raises(ChecksumError, match="ISIC_0000003"):
        load_dataset("ham10000", data_dir=mini_ham, image_size=16, cache_dir=tmp_path / "cache")


def test_ham_changed_image_after_caching_is_caught(mini_ham, tmp_path):
    load_dataset("ham10000", data_dir=mini_ham, image_size=16, cache_dir=tmp_path / "cache")
    victim = next((mini_ham / "ham10000").rglob("ISIC_0000005.jpg"))
    Image.fromarray(np.full((20, 30, 3), 7, dtype=np.uint8)).save(victim)
    with pytest.raises(ChecksumError, match="ISIC_0000005"):
        load_dataset("ham10000", data_dir=mini_ham, image_size=16, cache_dir=tmp_path / "cache")


def test_ham_metadata_checksum_mismatch_raises(mini_ham, monkeypatch):
    monkeypatch.setattr(ham10000, "METADATA_MD5", "0" * 32)
    with pytest.raises(ChecksumError, match="expected 0000"):
        load_dataset("ham10000", data_dir=mini_ham)


def test_ham_missing_images_are_reported_by_id(mini_ham):
    next((mini_ham / "ham10000").rglob("ISIC_0000042.jpg")).unlink()
    with pytest.raises(DatasetNotFoundError, match="1 of 100 images.*ISIC_0000042"):
        load_dataset("ham10000", data_dir=mini_ham)


def test_missing_data_raises_with_guidance(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("ham10000", data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "ham10000" / "HAM10000_metadata.csv") in message
    assert "10.7910/DVN/DBW86T" in message and "ISIC_*.jpg" in message
    with pytest.raises(DatasetNotFoundError, match=r"breastmnist\.npz.*zenodo.*data download breastmnist"):
        load_dataset("breastmnist", data_dir=tmp_path)


def test_medmnist_checksum_mismatch_raises(tmp_path):
    (tmp_path / "medmnist").mkdir()
    np.savez(tmp_path / "medmnist" / "breastmnist.npz", train_images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ChecksumError, match="750601b1f35ba3300ea97c75c52ff8f6"):
        load_dataset("breastmnist", data_dir=tmp_path)
    statuses = {r.dataset: r.status for r in check_datasets(tmp_path)}
    assert statuses == {"ham10000": "missing", "breastmnist": "corrupt"}


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'cifar10'.*ham10000.*breastmnist"):
        load_dataset("cifar10")
