"""The table of datasets: what each entry declares matches what its loader returns, the
loaded arrays are byte-identical to those the committed results were computed on, and a new
dataset is one entry."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from conftest import REAL_DATA, needs_real
from unlearnlib.data import (DATASETS, DatasetInfo, UnknownDatasetError, available, check_datasets, dataset_info,
                             load_dataset, make_synthetic, miniature)
from unlearnlib.data.splits import group_stratified_split


def _assert_entry_describes(dataset, entry: DatasetInfo) -> None:
    assert dataset.name == entry.name
    assert dataset.class_names == entry.class_names
    assert dataset.in_chans == entry.channels
    assert dataset.has_sex == entry.records_sex


def test_every_dataset_has_one_entry_with_one_loader_signature():
    assert available() == tuple(DATASETS)
    assert available()[:3] == ("ham10000", "chexpert", "nih_chestxray14") and available()[-1] == "synthetic"
    assert [name for name, entry in DATASETS.items() if entry.primary] == ["ham10000", "breastmnist"]
    for name, entry in DATASETS.items():
        assert entry.name == name and entry.class_names and entry.channels in (1, 3) and entry.files
    assert DATASETS["ham10000"].class_names == ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
    assert DATASETS["breastmnist"].class_names == ("malignant", "normal, benign")
    assert DATASETS["chestmnist"].class_names == ("no finding", "finding")  # the chest loaders' task
    assert DATASETS["pathmnist"].channels == 3


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'cifar10'; known: ham10000, chexpert"):
        dataset_info("cifar10")


def test_the_synthetic_entry_describes_what_it_loads(tmp_path):
    _assert_entry_describes(load_dataset("synthetic", data_dir=tmp_path, image_size=12), DATASETS["synthetic"])


def test_the_chest_entries_describe_what_their_loaders_return(tmp_path):
    chexpert_root = miniature.make_chexpert(tmp_path / "chexpert", seed=0)
    _assert_entry_describes(load_dataset("chexpert", data_dir=chexpert_root, image_size=16), DATASETS["chexpert"])
    nih_root = miniature.make_nih(tmp_path / "nih", seed=0)
    _assert_entry_describes(load_dataset("nih_chestxray14", data_dir=nih_root, image_size=16), DATASETS["nih_chestxray14"])


def test_a_new_dataset_is_one_table_entry(tmp_path, monkeypatch):
    def load_tiny(data_dir, *, image_size, split_seed, cache_dir):
        data = make_synthetic(n_samples=100, num_classes=2, image_size=image_size, seed=split_seed)
        return dataclasses.replace(data, name="tiny", class_names=("healthy", "sick"))

    entry = DatasetInfo(name="tiny", load=load_tiny, check=lambda root: "always there", class_names=("healthy", "sick"),
                        channels=1, records_sex=True, files="nothing", present=lambda root: True)
    monkeypatch.setitem(DATASETS, "tiny", entry)
    assert "tiny" in available()
    _assert_entry_describes(load_dataset("tiny", data_dir=tmp_path, image_size=8), entry)
    reports = {r.dataset: r for r in check_datasets(tmp_path)}
    assert reports["tiny"].status == "found" and not reports["tiny"].required

    from unlearnlib.execution.validation import grid_problems

    grid = {"datasets": ["tiny"], "scenarios": [["class", {"label": "sick"}], ["class", {"label": "well"}]]}
    assert grid_problems(grid) == [
        "scenario 'class': label='well' is not a class of tiny; its classes are ['healthy', 'sick']"]


# ---------------------------------------------------------------- byte-identical to the committed results' inputs


def _digest(dataset) -> str:
    """Images, labels, class names and every metadata column (the split included)."""
    h = hashlib.sha256()
    for array in (dataset.images, dataset.labels):
        h.update(f"{array.dtype}{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(dataset.metadata.to_csv(index=False).encode())
    h.update(repr(dataset.class_names).encode())
    return h.hexdigest()


# Measured with the loaders before they were moved into the table (commit 9d3025d).
REAL_DIGESTS = {
    ("breastmnist", 28, 0): "a8e2d33f79822059f394a5111f0cd7e04b88782b08d866b83c5199ce97bb5406",
    ("ham10000", 28, 0): "ebf23c48a17fe67d0f0c5ceeb39c940975064c020b8e01292844c7f930102831",
    ("ham10000", 28, 1): "d8e49b827201397dd58b57e4836dbada0a638f51ff8872c9406d8d2d8cf9ff58",
    ("ham10000", 64, 0): "266d6e1059683754c4eb9b1fa8c0dff1de76e852804c77270f45fbf9ef119c79",
}


@needs_real("breastmnist")
def test_breastmnist_loads_byte_identical_arrays_and_split(tmp_path):
    data = load_dataset("breastmnist", data_dir=REAL_DATA, cache_dir=tmp_path)
    assert _digest(data) == REAL_DIGESTS[("breastmnist", 28, 0)]
    _assert_entry_describes(data, DATASETS["breastmnist"])


@needs_real("ham10000")
@pytest.mark.slow
@pytest.mark.parametrize(("image_size", "split_seed"), [(28, 0), (28, 1), (64, 0)])
def test_ham10000_reads_byte_identical_images_and_split(tmp_path, image_size, split_seed):
    # A fresh cache directory: the JPEGs are decoded and resized, not served from a cache.
    data = load_dataset("ham10000", data_dir=REAL_DATA, image_size=image_size, split_seed=split_seed, cache_dir=tmp_path)
    assert _digest(data) == REAL_DIGESTS[("ham10000", image_size, split_seed)]
    _assert_entry_describes(data, DATASETS["ham10000"])
    served = load_dataset("ham10000", data_dir=REAL_DATA, image_size=image_size, split_seed=split_seed, cache_dir=tmp_path)
    np.testing.assert_array_equal(served.images, data.images)  # the cache serves the same bytes


def test_the_digest_sees_a_changed_split():
    data = make_synthetic(n_samples=200, seed=0)
    moved = data.metadata.assign(split=group_stratified_split(data.labels, data.metadata["group"].to_numpy(), seed=1))
    assert _digest(dataclasses.replace(data, metadata=moved)) != _digest(data)
