"""NIH ChestX-ray14 (Wang et al., "ChestX-ray8", CVPR 2017), the official layout.

Layout: ``<data_dir>/nih-chestxray14/Data_Entry_2017*.csv`` (plain or ``.gz``; the v2020
revision is preferred when several are there) and the ``<Image Index>`` PNGs in ``images/``
(what the NIH archives unpack to) or in ``images_001/images/`` ... ``images_012/images/``
(the Kaggle copy). All views are frontal (PA or AP, the ``view`` column).

Task (see ``chest.py`` for why): **no finding (0)** when ``Finding Labels`` is ``No Finding``,
**finding (1)** when it lists any of the 14 findings. The labels were mined from reports with
no uncertain class, so every image is kept. Sex (``Patient Gender``), age and the patient id
(the ``group``) come from the csv; the split is 70/10/20 by patient, stratified by label (the
official ``train_val_list.txt`` / ``test_list.txt`` are not used, so that every dataset is
split the same way). Images are squeezed to ``image_size`` square, grayscale, and cached.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..paths import cache_dir as default_cache_dir
from .base import CorruptDatasetError, DatasetNotFoundError, ImageDataset
from .chest import CLASS_NAMES, missing_images_message, sex_from
from ..provenance import key_of
from .files import cached_images, file_stats, md5_of, missing_files, unreadable_images
from .splits import group_stratified_split

NAME = "nih_chestxray14"
FOLDER = "nih-chestxray14"
METADATA_GLOB = "Data_Entry_2017*.csv*"
IMAGE_FOLDERS = ("images", "images_*/images")
COLUMNS = ("Image Index", "Finding Labels", "Follow-up #", "Patient ID", "Patient Age", "Patient Gender", "View Position")
FINDINGS = (
    "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia", "Pneumothorax",
    "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
)
NO_FINDING = "No Finding"
SOURCE = "https://nihcc.app.box.com/v/ChestXray-NIHCC"
KAGGLE = "https://www.kaggle.com/datasets/nih-chest-xrays/data"
_LOADER_VERSION = 1  # bump when the task, the resizing or the split changes, to invalidate caches

HOW_TO_GET = f"""\
Download the images (12 archives images_001.tar.gz ... images_012.tar.gz, about 42 GB, public,
no restriction on use; acknowledge the NIH Clinical Center) from the NIH box folder
{SOURCE} or the Kaggle copy {KAGGLE}, and unpack them beside the metadata:
  <data_dir>/nih-chestxray14/Data_Entry_2017_v2020.csv   (or .csv.gz)
  <data_dir>/nih-chestxray14/images/<Image Index>.png     (or images_001/images/ ... images_012/images/)
and set UNLEARNLIB_DATA_DIR (or --data-dir) to <data_dir>."""


@dataclass(frozen=True)
class NihFiles:
    root: Path
    metadata_path: Path
    table: pd.DataFrame  # the csv, checked, with 'label'
    image_paths: dict[str, Path]  # Image Index -> file, in csv order


def present(data_dir: Path) -> bool:
    return (data_dir / FOLDER).exists()


def _metadata_path(root: Path) -> Path:
    found = sorted(p for p in root.glob(METADATA_GLOB) if p.name.endswith((".csv", ".csv.gz")))
    if not found:
        raise DatasetNotFoundError(f"NIH ChestX-ray14 not found: looked for {root / METADATA_GLOB}.\n{HOW_TO_GET}")
    # Prefer the v2020 revision, then the plain csv; sorted() makes the choice stable.
    return max(found, key=lambda p: ("v2020" in p.name, p.suffix == ".csv"))


def parse_age(values: pd.Series) -> np.ndarray:
    """Years as float: plain numbers (the v2020 file) or '058Y' / '011M' / '020D' (older copies).
    Ages above 120 (typos in the 2017 file) become NaN."""
    text = values.astype(str).str.strip()
    parts = text.str.extract(r"^(\d+(?:\.\d+)?)\s*([YMD]?)$")
    years = pd.to_numeric(parts[0], errors="coerce") / parts[1].map({"": 1, "Y": 1, "M": 12, "D": 365}).astype(float)
    return years.where(years <= 120).to_numpy(dtype=float)


def task_labels(findings: pd.Series, source: Path) -> np.ndarray:
    """0 for 'No Finding', 1 for any of the 14 findings; anything else is a corrupt row."""
    tokens = findings.fillna("").str.split("|")
    known = set(FINDINGS)
    bad = [i for i, t in tokens.items() if not (t == [NO_FINDING] or (t and set(t) <= known))]
    if bad:
        raise CorruptDatasetError(
            f"{source}: 'Finding Labels' must be {NO_FINDING!r} or '|'-separated findings from {FINDINGS}; "
            f"row {bad[0] + 2} has {findings[bad[0]]!r} ({len(bad)} such rows)"
        )
    return (findings != NO_FINDING).to_numpy(dtype=np.int64)


def _read_metadata(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)  # pandas reads .gz by its suffix
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as error:
        raise CorruptDatasetError(f"{path} is not a readable csv ({error}).\n{HOW_TO_GET}") from error
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise CorruptDatasetError(f"{path} lacks the ChestX-ray14 columns {missing}; it has {list(table.columns)}")
    if table["Image Index"].duplicated().any():
        raise CorruptDatasetError(f"{path}: 'Image Index' repeats, e.g. {table['Image Index'][table['Image Index'].duplicated()].iloc[0]!r}")
    return table.assign(label=task_labels(table["Finding Labels"], path))


def locate(data_dir: Path) -> NihFiles:
    """Read and check the metadata and find every image it lists; raise with guidance if not."""
    root = data_dir / FOLDER
    metadata_path = _metadata_path(root)
    table = _read_metadata(metadata_path)
    on_disk = {p.name: p for pattern in IMAGE_FOLDERS for p in root.glob(f"{pattern}/*.png")}
    image_paths = {name: on_disk.get(name, root / "images" / name) for name in table["Image Index"]}
    missing = missing_files(image_paths)
    if missing:
        looked_in = " and ".join(str(root / p) for p in IMAGE_FOLDERS)
        raise DatasetNotFoundError(
            missing_images_message("NIH ChestX-ray14", missing, len(table), metadata_path, looked_in, f"{SOURCE} (or {KAGGLE})", HOW_TO_GET)
        )
    return NihFiles(root, metadata_path, table, image_paths)


def check(data_dir: Path) -> str:
    files = locate(data_dir)
    bad = unreadable_images(files.image_paths)
    if bad:
        raise CorruptDatasetError(f"NIH ChestX-ray14: {len(bad)} image file(s) are not readable images: {', '.join(bad[:5])}")
    n_finding = int(files.table["label"].sum())
    return (
        f"{len(files.table)} images, {files.table['Patient ID'].nunique()} patients "
        f"({n_finding} finding, {len(files.table) - n_finding} no finding) from {files.metadata_path.name}"
    )


def load(data_dir: Path, *, image_size: int = 28, split_seed: int = 0, cache_dir: Path | None = None) -> ImageDataset:
    """NIH ChestX-ray14 at ``image_size`` px, no finding vs finding, split by patient."""
    files = locate(data_dir)
    key = key_of(_LOADER_VERSION, md5_of(files.metadata_path), image_size, file_stats(files.image_paths))
    cache_path = default_cache_dir(cache_dir) / f"{NAME}-{image_size}px-{key}.npz"
    images = cached_images(cache_path, files.image_paths, image_size, dataset="NIH ChestX-ray14", mode="L")
    raw = files.table
    labels = raw["label"].to_numpy(dtype=np.int64)
    patients = raw["Patient ID"].map(lambda p: f"{int(p):08d}").to_numpy(dtype=object)  # as in the file names
    metadata = pd.DataFrame(
        {
            "split": group_stratified_split(labels, patients, seed=split_seed),
            "label": labels,
            "sex": sex_from(raw["Patient Gender"], {"M": "male", "F": "female"}),
            "age": parse_age(raw["Patient Age"]),
            "group": patients,
            "image_id": raw["Image Index"].to_numpy(),
            "view": raw["View Position"].to_numpy(),
            "findings": raw["Finding Labels"].to_numpy(),
            "follow_up": raw["Follow-up #"].to_numpy(),
        }
    )
    return ImageDataset(NAME, images, labels, CLASS_NAMES, metadata)
