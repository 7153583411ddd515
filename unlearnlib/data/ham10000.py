"""HAM10000 dermoscopy images (Tschandl, Rosendahl & Kittler, Sci. Data 5, 180161, 2018).

Reads the official layout: ``HAM10000_metadata.csv`` plus ``ISIC_*.jpg`` files in any
sub-folder of ``<data_dir>/ham10000`` and at any size. Images are resized to a square
``image_size`` and cached (keyed by the inputs) under the cache directory. The split is
by lesion id, so that no lesion has images in two splits.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..paths import cache_dir as default_cache_dir
from .base import ChecksumError, DatasetError, DatasetNotFoundError, ImageDataset
from ..provenance import key_of
from .files import cached_images, md5_of
from .splits import group_stratified_split

NAME = "ham10000"
METADATA_FILE = "HAM10000_metadata.csv"
METADATA_MD5 = "70bb67f71bd23dde0bd2eda4bdcc98e5"
IMAGE_CHECKSUMS_FILE = "MD5SUMS_images.txt"  # optional: present in our mirror, not upstream
CLASS_NAMES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
SOURCE = "https://doi.org/10.7910/DVN/DBW86T"
_LOADER_VERSION = 1  # bump when the resizing changes, to invalidate caches

HOW_TO_GET = f"""\
Download HAM10000 from the Harvard Dataverse ({SOURCE}): HAM10000_metadata.csv
(renamed from HAM10000_metadata.tab if needed) and the two image archives
HAM10000_images_part_1.zip and HAM10000_images_part_2.zip. Unpack them as
  <data_dir>/ham10000/HAM10000_metadata.csv
  <data_dir>/ham10000/<any sub-folder>/ISIC_*.jpg
and set UNLEARNLIB_DATA_DIR (or --data-dir) to <data_dir>."""


@dataclass(frozen=True)
class Ham10000Files:
    root: Path
    metadata: pd.DataFrame
    image_paths: dict[str, Path]


def locate(data_dir: Path) -> Ham10000Files:
    """Find and verify the metadata and every image it lists; raise with guidance if not."""
    root = data_dir / NAME
    metadata_path = root / METADATA_FILE
    if not metadata_path.exists():
        raise DatasetNotFoundError(f"HAM10000 not found: looked for {metadata_path}.\n{HOW_TO_GET}")
    actual = md5_of(metadata_path)
    if actual != METADATA_MD5:
        raise ChecksumError(
            f"{metadata_path} has md5 {actual}, expected {METADATA_MD5} (the official file). "
            f"Download it again.\n{HOW_TO_GET}"
        )
    metadata = pd.read_csv(metadata_path)
    image_paths = {path.stem: path for path in root.rglob("ISIC_*.jpg")}
    missing = sorted(set(metadata["image_id"]) - set(image_paths))
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise DatasetNotFoundError(
            f"HAM10000: {len(missing)} of {len(metadata)} images listed in {METADATA_FILE} "
            f"are missing under {root}: {shown}\n{HOW_TO_GET}"
        )
    return Ham10000Files(root, metadata, image_paths)


def verify_image_checksums(files: Ham10000Files) -> int:
    """Check every image against MD5SUMS_images.txt when that file exists; return how many."""
    sums_path = files.root / IMAGE_CHECKSUMS_FILE
    if not sums_path.exists():
        return 0
    expected = {}
    for line in sums_path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            expected[Path(name.strip()).stem] = digest
    wanted = [image_id for image_id in files.metadata["image_id"] if image_id in expected]
    with ThreadPoolExecutor(max_workers=4) as pool:
        actual = list(pool.map(lambda i: md5_of(files.image_paths[i]), wanted))
    bad = [i for i, digest in zip(wanted, actual) if digest != expected[i]]
    if bad:
        shown = ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise ChecksumError(
            f"HAM10000: {len(bad)} image(s) do not match {sums_path}: {shown}. "
            f"Replace them with fresh copies.\n{HOW_TO_GET}"
        )
    return len(wanted)


def _cache_key(files: Ham10000Files, image_size: int) -> str:
    # Name, size and modification time of every input: any change rebuilds (and re-verifies).
    stats = []
    for image_id in files.metadata["image_id"]:
        stat = files.image_paths[image_id].stat()
        stats.append((image_id, stat.st_size, stat.st_mtime_ns))
    sums = files.root / IMAGE_CHECKSUMS_FILE
    sums_md5 = md5_of(sums) if sums.exists() else None
    return key_of(_LOADER_VERSION, METADATA_MD5, sums_md5, image_size, stats)


def _load_images(files: Ham10000Files, image_size: int, cache_dir: Path) -> np.ndarray:
    cache_path = cache_dir / f"{NAME}-{image_size}px-{_cache_key(files, image_size)}.npz"
    paths = {image_id: files.image_paths[image_id] for image_id in files.metadata["image_id"]}
    return cached_images(
        cache_path, paths, image_size, dataset="HAM10000", mode="RGB", before_reading=lambda: verify_image_checksums(files)
    )


def check(data_dir: Path) -> str:
    """One line for `data check`; raises as ``locate`` and ``verify_image_checksums`` do."""
    files = locate(data_dir)
    verified = verify_image_checksums(files)
    lesions = files.metadata["lesion_id"].nunique()
    return f"{len(files.metadata)} images, {lesions} lesions, {verified} image checksums verified"


def load(data_dir: Path, *, image_size: int = 28, split_seed: int = 0, cache_dir: Path | None = None) -> ImageDataset:
    """HAM10000 at ``image_size`` px, split 70/10/20 by lesion, stratified by diagnosis."""
    files = locate(data_dir)
    images = _load_images(files, image_size, default_cache_dir(cache_dir))
    raw = files.metadata
    labels = raw["dx"].map({name: i for i, name in enumerate(CLASS_NAMES)})
    if labels.isna().any():
        unknown = sorted(set(raw["dx"][labels.isna()]))
        raise DatasetError(f"HAM10000 metadata has unknown diagnoses {unknown}; expected {CLASS_NAMES}")
    labels = labels.to_numpy(dtype=np.int64)
    sex = raw["sex"].where(raw["sex"].isin(["male", "female"]), "unknown")
    metadata = pd.DataFrame(
        {
            "split": group_stratified_split(labels, raw["lesion_id"].to_numpy(), seed=split_seed),
            "label": labels,
            "sex": sex.to_numpy(),
            "age": raw["age"].astype(float).to_numpy(),
            "group": raw["lesion_id"].to_numpy(),
            "image_id": raw["image_id"].to_numpy(),
            "diagnosis": raw["dx"].to_numpy(),
            "localization": raw["localization"].to_numpy(),
        }
    )
    return ImageDataset(NAME, images, labels, CLASS_NAMES, metadata)
