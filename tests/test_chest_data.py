"""The chest X-ray loaders (CheXpert, NIH ChestX-ray14) and ChestMNIST, on miniature official
layouts with random pixels (unlearnlib.data.miniature); NIH rows are real when the data
directory has the metadata."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from conftest import REAL_DATA
from unlearnlib.cli import main
from unlearnlib.data import (
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    available,
    check_datasets,
    chexpert,
    load_dataset,
    medmnist,
    miniature,
    nih_chestxray14,
)
from unlearnlib.scenarios import make_scenario

NIH_METADATA = REAL_DATA / "nih-chestxray14" / "Data_Entry_2017_v2020.csv.gz"


def _disjoint_groups(metadata: pd.DataFrame) -> bool:
    sets = {split: set(rows["group"]) for split, rows in metadata.groupby("split")}
    return not (sets["train"] & sets["val"] or sets["train"] & sets["test"] or sets["val"] & sets["test"])


@pytest.fixture(scope="module")
def mini_chexpert(tmp_path_factory):
    return miniature.make_chexpert(tmp_path_factory.mktemp("chexpert"), seed=0)


@pytest.fixture(scope="module")
def nih_rows():
    """Real metadata rows when the mirror has them, else made-up rows with the real columns."""
    if NIH_METADATA.exists():
        return miniature.real_nih_rows(NIH_METADATA, n_images=160, seed=0)
    return None


@pytest.fixture(scope="module")
def mini_nih(tmp_path_factory, nih_rows):
    return miniature.make_nih(tmp_path_factory.mktemp("nih"), rows=nih_rows, seed=0)


def _chexpert_csv(root, release="CheXpert-v1.0-small") -> pd.DataFrame:
    folder = root / "chexpert" / release
    return pd.concat([pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "valid.csv")], ignore_index=True)


# --- registry ---------------------------------------------------------------------------


def test_both_chest_datasets_are_registered():
    assert {"chexpert", "nih_chestxray14", "tissuemnist", "chestmnist"} <= set(available())


# --- CheXpert ---------------------------------------------------------------------------


def test_chexpert_loads_frontal_views_as_grayscale_at_the_requested_size(mini_chexpert, tmp_path):
    data = load_dataset("chexpert", data_dir=mini_chexpert, image_size=16, cache_dir=tmp_path)
    csv = _chexpert_csv(mini_chexpert)
    frontal = csv[csv["Frontal/Lateral"] == "Frontal"]
    assert data.in_chans == 1 and data.images.shape[1:] == (1, 16, 16)
    assert data.class_names == ("no finding", "finding")
    assert set(data.metadata["image_id"]) <= set(frontal["Path"])
    assert not data.metadata["image_id"].str.contains("lateral").any()
    assert set(data.metadata["source"]) == {"train.csv", "valid.csv"}
    again = load_dataset("chexpert", data_dir=mini_chexpert, image_size=16, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.images, data.images)
    assert len(list(tmp_path.glob("chexpert-16px-*.npz"))) == 1


def test_chexpert_labels_follow_the_uncertainty_policy(mini_chexpert, tmp_path):
    data = load_dataset("chexpert", data_dir=mini_chexpert, cache_dir=tmp_path)
    csv = _chexpert_csv(mini_chexpert).set_index("Path")
    rows = csv.loc[data.metadata["image_id"]]
    pathologies = rows[list(chexpert.PATHOLOGIES)]
    positive = (pathologies == 1.0).any(axis=1).to_numpy()
    np.testing.assert_array_equal(data.labels, positive.astype(int))  # finding iff a positive pathology
    normal = rows[data.labels == 0]
    assert (normal["No Finding"] == 1.0).all() and not (normal[list(chexpert.PATHOLOGIES)] == -1.0).any().any()
    # Left out: frontal images whose pathologies are uncertain and none positive.
    frontal = csv[csv["Frontal/Lateral"] == "Frontal"]
    left_out = frontal.drop(index=data.metadata["image_id"])
    assert len(left_out) > 0
    assert ((left_out[list(chexpert.PATHOLOGIES)] == -1.0).any(axis=1) & ~(left_out[list(chexpert.PATHOLOGIES)] == 1.0).any(axis=1)).all()
    # Both label kinds mix with uncertain and blank cells: a positive beside a -1 stays a finding.
    assert ((pathologies == -1.0).any(axis=1).to_numpy() & (data.labels == 1)).any()
    assert normal[list(chexpert.PATHOLOGIES)].isna().all(axis=1).any()  # blank = not mentioned = negative


def test_chexpert_task_labels_on_hand_written_rows():
    rows = pd.DataFrame([{o: np.nan for o in chexpert.OBSERVATIONS} for _ in range(5)])
    rows.loc[0, "No Finding"] = 1.0  # normal, the rest blank
    rows.loc[1, ["Edema", "Cardiomegaly"]] = [1.0, -1.0]  # finding despite an uncertain one
    rows.loc[2, "Edema"] = -1.0  # uncertain only: left out
    rows.loc[3, ["No Finding", "Support Devices"]] = [1.0, 1.0]  # devices are no disease
    rows.loc[4, "Support Devices"] = 1.0  # nothing to go on: left out
    np.testing.assert_array_equal(chexpert.task_labels(rows).to_numpy(), [0, 1, np.nan, 0, np.nan])


def test_chexpert_metadata_and_patient_level_split(mini_chexpert, tmp_path):
    data = load_dataset("chexpert", data_dir=mini_chexpert, cache_dir=tmp_path)
    meta = data.metadata
    csv = _chexpert_csv(mini_chexpert).set_index("Path").loc[meta["image_id"]]
    assert list(meta["group"]) == list(meta["image_id"].str.extract(r"(patient\d+)")[0])
    expected_sex = csv["Sex"].map({"Male": "male", "Female": "female", "Unknown": "unknown"}).to_numpy()
    np.testing.assert_array_equal(meta["sex"].to_numpy(), expected_sex)
    np.testing.assert_array_equal(meta["age"].to_numpy(), csv["Age"].to_numpy(dtype=float))
    assert set(meta["sex"]) == {"male", "female", "unknown"}
    assert _disjoint_groups(meta) and set(meta["split"]) == {"train", "val", "test"}
    assert meta.groupby("group").size().max() > 1  # patients with several images
    # Whole-patient forgetting: no patient is split between forget and retain.
    split = make_scenario("patient", data, fraction=0.2, seed=0)
    groups = meta["group"].to_numpy()
    assert not set(groups[split.forget]) & set(groups[split.retain])


def test_chexpert_reads_the_full_size_release_folder(tmp_path):
    root = miniature.make_chexpert(tmp_path / "data", n_patients=14, n_valid_patients=2, release="CheXpert-v1.0", seed=1)
    data = load_dataset("chexpert", data_dir=root, image_size=12, cache_dir=tmp_path / "cache")
    assert data.metadata["image_id"].str.startswith("CheXpert-v1.0/").all()
    assert check_datasets(root, ["chexpert"])[0].status == "found"


def test_chexpert_missing_release_names_the_paths_and_url(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("chexpert", data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "chexpert" / "CheXpert-v1.0-small" / "train.csv") in message
    assert "CheXpert-v1.0/train.csv" in message and chexpert.SOURCE in message


def test_chexpert_missing_images_are_counted_and_named(tmp_path):
    root = miniature.make_chexpert(tmp_path / "data", n_patients=14, n_valid_patients=2, seed=2)
    (root / "chexpert" / "CheXpert-v1.0-small" / "train" / "patient00003" / "study1" / "view1_frontal.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"1 of \d+ images listed in train.csv are missing.*stanfordmlgroup(.|\n)*patient00003/study1/view1_frontal"):
        load_dataset("chexpert", data_dir=root, cache_dir=tmp_path / "cache")
    report = check_datasets(root)[-1]
    assert (report.dataset, report.status, report.required) == ("chexpert", "missing", False)


def test_chexpert_corrupt_csv_and_images(tmp_path):
    root = miniature.make_chexpert(tmp_path / "data", n_patients=14, n_valid_patients=2, seed=3)
    folder = root / "chexpert" / "CheXpert-v1.0-small"
    (folder / "train" / "patient00002" / "study1" / "view1_frontal.jpg").write_bytes(b"not a jpeg")
    assert check_datasets(root, ["chexpert"])[0].status == "corrupt"
    with pytest.raises(CorruptDatasetError, match="patient00002/study1/view1_frontal.jpg"):
        load_dataset("chexpert", data_dir=root, cache_dir=tmp_path / "cache")
    pd.read_csv(folder / "valid.csv").drop(columns=["Sex"]).to_csv(folder / "valid.csv", index=False)
    with pytest.raises(CorruptDatasetError, match=r"valid.csv lacks the CheXpert columns \['Sex'\]"):
        load_dataset("chexpert", data_dir=root, cache_dir=tmp_path / "cache")


# --- NIH ChestX-ray14 -------------------------------------------------------------------


def test_nih_loads_labels_and_metadata_from_the_csv(mini_nih, nih_rows, tmp_path):
    data = load_dataset("nih_chestxray14", data_dir=mini_nih, image_size=16, cache_dir=tmp_path)
    csv = pd.read_csv(mini_nih / "nih-chestxray14" / "Data_Entry_2017_v2020.csv")
    meta = data.metadata
    assert data.images.shape == (len(csv), 1, 16, 16) and data.class_names == ("no finding", "finding")
    np.testing.assert_array_equal(meta["image_id"], csv["Image Index"])
    np.testing.assert_array_equal(data.labels, (csv["Finding Labels"] != "No Finding").astype(int))
    assert 0 < data.labels.mean() < 1
    np.testing.assert_array_equal(meta["sex"], csv["Patient Gender"].map({"M": "male", "F": "female"}))
    np.testing.assert_array_equal(meta["age"], csv["Patient Age"].astype(float))
    np.testing.assert_array_equal(meta["group"].astype(int), csv["Patient ID"])
    assert set(meta["sex"]) == {"male", "female"} and set(meta["view"]) <= {"PA", "AP"}
    assert _disjoint_groups(meta) and meta.groupby("group").size().min() >= 2
    if nih_rows is not None:  # real rows: ids and findings are the NIH's own
        assert set(meta["image_id"]) <= set(pd.read_csv(NIH_METADATA)["Image Index"])


def test_nih_reads_the_nih_layout_and_a_gzipped_csv(tmp_path, nih_rows):
    rows = nih_rows.iloc[:60] if nih_rows is not None else None
    root = miniature.make_nih(tmp_path / "data", rows=rows, n_images=60, layout="nih", file_name="Data_Entry_2017.csv.gz", seed=1)
    assert (root / "nih-chestxray14" / "images").is_dir()
    data = load_dataset("nih_chestxray14", data_dir=root, image_size=12, cache_dir=tmp_path / "cache")
    assert len(data.labels) == 60


def test_nih_metadata_without_images_is_missing_with_the_download_links(tmp_path, nih_rows):
    root = miniature.make_nih(tmp_path, rows=nih_rows, n_images=40, images=False, file_name="Data_Entry_2017_v2020.csv.gz")
    n = len(nih_rows) if nih_rows is not None else 40
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("nih_chestxray14", data_dir=root)
    first_line = str(error.value).splitlines()[0]
    assert f"{n} of {n} images listed in Data_Entry_2017_v2020.csv.gz are missing" in first_line
    assert nih_chestxray14.SOURCE in first_line and nih_chestxray14.KAGGLE in first_line
    report = check_datasets(root)[-1]
    assert (report.dataset, report.status) == ("nih_chestxray14", "missing")
    assert report.detail.splitlines()[0] == first_line


def test_nih_corrupt_rows_and_images(tmp_path):
    root = miniature.make_nih(tmp_path / "data", n_images=40, seed=2)
    csv_path = root / "nih-chestxray14" / "Data_Entry_2017_v2020.csv"
    victim = next((root / "nih-chestxray14").glob("images_*/images/*.png"))
    victim.write_bytes(b"")
    assert check_datasets(root)[-1].status == "corrupt"
    table = pd.read_csv(csv_path)
    table.loc[3, "Finding Labels"] = "Cardiomegaly|Dragons"
    table.to_csv(csv_path, index=False)
    with pytest.raises(CorruptDatasetError, match=r"row 5 has 'Cardiomegaly\|Dragons'"):
        load_dataset("nih_chestxray14", data_dir=root)


def test_nih_ages_in_the_older_formats():
    ages = nih_chestxray14.parse_age(pd.Series(["58", "058Y", "006M", 414, 61]))
    np.testing.assert_allclose(ages, [58, 58, 0.5, np.nan, 61])


# --- data check on the command line ----------------------------------------------------


def test_data_check_reports_chest_datasets(mini_chexpert, tmp_path, nih_rows, capsys):
    assert main(["--data-dir", str(mini_chexpert), "data", "check", "chexpert"]) == 0
    assert "chexpert     found" in capsys.readouterr().out
    # Found but optional: listed without being asked; the exit status follows the primary datasets.
    assert main(["--data-dir", str(mini_chexpert), "data", "check"]) == 1
    out = capsys.readouterr().out
    assert "chexpert     found" in out and "(optional)" in out and "ham10000     missing" in out
    root = miniature.make_nih(tmp_path, rows=nih_rows, n_images=40, images=False)
    assert main(["--data-dir", str(root), "data", "check", "-v", "nih_chestxray14"]) == 1
    out = capsys.readouterr().out
    assert "nih_chestxray14  missing" in out and "are missing; get them from https://nihcc.app.box.com" in out
    assert "images_001/images" in out  # -v: the layout to unpack to


# --- MedMNIST: single-label flags as before, ChestMNIST as a documented binary task ----


def _fake_medmnist(tmp_path, monkeypatch, flag: str, labels: np.ndarray) -> None:
    folder = tmp_path / "medmnist"
    folder.mkdir(exist_ok=True)
    n = len(labels) // 3
    parts = {"train": slice(0, n), "val": slice(n, 2 * n), "test": slice(2 * n, None)}
    arrays = {}
    for split, rows in parts.items():
        arrays[f"{split}_images"] = np.zeros((len(labels[rows]), 28, 28), np.uint8)
        arrays[f"{split}_labels"] = labels[rows]
    np.savez(folder / f"{flag}.npz", **arrays)
    digest = hashlib.md5((folder / f"{flag}.npz").read_bytes()).hexdigest()
    monkeypatch.setitem(medmnist.INFO[flag], "MD5", digest)


def test_tissuemnist_keeps_its_eight_classes(tmp_path, monkeypatch):
    labels = np.arange(24, dtype=np.uint8).reshape(-1, 1) % 8
    _fake_medmnist(tmp_path, monkeypatch, "tissuemnist", labels)
    data = load_dataset("tissuemnist", data_dir=tmp_path)
    assert data.num_classes == 8 and data.in_chans == 1
    np.testing.assert_array_equal(data.labels, labels[:, 0])


def test_chestmnist_is_no_finding_vs_any_finding_not_its_first_label(tmp_path, monkeypatch):
    labels = np.zeros((30, 14), np.uint8)
    labels[::3, 5] = 1  # nodule only: a finding although the first label (atelectasis) is 0
    labels[1::3, [0, 13]] = 1
    _fake_medmnist(tmp_path, monkeypatch, "chestmnist", labels)
    data = load_dataset("chestmnist", data_dir=tmp_path)
    assert data.class_names == ("no finding", "finding")
    np.testing.assert_array_equal(data.labels, labels.any(axis=1).astype(int))
    assert (data.labels != labels[:, 0]).any()


def test_other_multi_label_flags_are_refused(monkeypatch):
    monkeypatch.setitem(medmnist.INFO, "fakemnist", {"task": "multi-label, binary-class", "label": {"0": "a", "1": "b"}})
    with pytest.raises(DatasetError, match="fakemnist is multi-label.*chestmnist"):
        medmnist.single_labels("fakemnist", np.zeros((4, 2), np.uint8))


# --- the study's command on the miniature layouts --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["chexpert", "nih_chestxray14"])
def test_smoke_run_on_a_miniature_layout(dataset, mini_chexpert, mini_nih, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path / "cache"))
    root = mini_chexpert if dataset == "chexpert" else mini_nih
    argv = ["--data-dir", str(root), "run", "--profile", "smoke", "--dataset", dataset,
            "--scenario", "sex:sex=female,size=4", "--method", "finetune", "--seeds", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert dataset in out and "finetune" in out and "retrain" in out
