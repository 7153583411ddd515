"""MedMNIST v2 2D datasets (Yang et al., Sci. Data 10, 41, 2023), BreastMNIST first.

Reads the official ``<flag>.npz`` (``<flag>_<size>.npz`` for MedMNIST+ sizes) from
``<data_dir>/medmnist``, verified against the md5 that the ``medmnist`` package lists in
its ``INFO``; ``download`` fetches it through the ``medmnist`` package when online. The
official train / val / test split is kept. MedMNIST records no sex, age or patient, so
``sex`` and ``age`` are missing and each image is its own group.

Every 2D flag is single-label except ChestMNIST (14 findings per image, from NIH
ChestX-ray14). It is loaded as the chest loaders' task, **no finding (0) vs finding (1)**:
an image is a finding when any of its 14 labels is set (see ``chest.py``), so no label is
dropped. Any other multi-label flag is refused rather than cut down to one label.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from medmnist.info import INFO

from .base import SPLITS, ChecksumError, DatasetError, DatasetNotFoundError, ImageDataset
from .chest import CLASS_NAMES as CHEST_CLASS_NAMES
from .files import md5_of

FOLDER = "medmnist"
FLAGS_2D = tuple(flag for flag, info in INFO.items() if "3d" not in flag and "n_channels" in info)


def file_name(flag: str, image_size: int) -> str:
    return f"{flag}.npz" if image_size == 28 else f"{flag}_{image_size}.npz"


def expected_md5(flag: str, image_size: int) -> str:
    info = INFO[flag]
    key = "MD5" if image_size == 28 else f"MD5_{image_size}"
    if key not in info:
        sizes = [28] + [int(k.split("_")[1]) for k in info if k.startswith("MD5_")]
        raise ValueError(f"{flag} comes at sizes {sizes}, not {image_size}")
    return info[key]


def how_to_get(flag: str, image_size: int, folder: Path) -> str:
    url = INFO[flag]["url"] if image_size == 28 else INFO[flag].get(f"url_{image_size}", INFO[flag]["url"])
    return (
        f"Get {file_name(flag, image_size)} (md5 {expected_md5(flag, image_size)}) from {url} and put it at "
        f"{folder / file_name(flag, image_size)}, or run `python -m unlearnlib data download {flag}` "
        f"on a machine with internet access."
    )


def locate(flag: str, data_dir: Path, image_size: int = 28) -> Path:
    """Path of the verified npz; raise with guidance when missing or corrupt."""
    folder = data_dir / FOLDER
    path = folder / file_name(flag, image_size)
    if not path.exists():
        raise DatasetNotFoundError(f"{flag} not found: looked for {path}.\n{how_to_get(flag, image_size, folder)}")
    actual, expected = md5_of(path), expected_md5(flag, image_size)
    if actual != expected:
        raise ChecksumError(
            f"{path} has md5 {actual}, expected {expected} (medmnist INFO). Delete it and download "
            f"it again.\n{how_to_get(flag, image_size, folder)}"
        )
    return path


def download(flag: str, data_dir: Path, image_size: int = 28) -> Path:
    """Fetch the official file with the medmnist package (needs internet), then verify it."""
    import medmnist

    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    dataset_class = getattr(medmnist, INFO[flag]["python_class"])
    dataset_class(split="test", root=str(folder), download=True, size=image_size)
    return locate(flag, data_dir, image_size)


def single_labels(flag: str, raw: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """One int64 label per image and the class names, from the npz's N x K label array."""
    info = INFO[flag]
    names = tuple(info["label"][str(i)] for i in range(len(info["label"])))
    if info["task"].startswith("multi-label"):
        if flag != "chestmnist":
            raise DatasetError(
                f"{flag} is multi-label ({len(names)} labels per image) and has no single-label task defined "
                "here; the study needs one label per image. Supported multi-label flag: chestmnist."
            )
        return (raw.reshape(len(raw), -1) != 0).any(axis=1).astype(np.int64), CHEST_CLASS_NAMES
    if raw.ndim == 2 and raw.shape[1] != 1:
        raise DatasetError(f"{flag} ({info['task']}) should have one label per image; its npz has {raw.shape[1]}")
    return raw.reshape(len(raw)).astype(np.int64), names


def class_names(flag: str) -> tuple[str, ...]:
    """The class names ``load`` gives ``flag``, from the medmnist INFO (no file is read)."""
    labels = INFO[flag]["label"]
    return CHEST_CLASS_NAMES if flag == "chestmnist" else tuple(labels[str(i)] for i in range(len(labels)))


def check(flag: str, data_dir: Path) -> str:
    """One line for `data check`; raises as ``locate`` does."""
    with np.load(locate(flag, data_dir)) as arrays:
        counts = {s: len(arrays[f"{s}_labels"]) for s in SPLITS}
    return f"{sum(counts.values())} images (train {counts['train']}, val {counts['val']}, test {counts['test']}), md5 ok"


def present(flag: str, data_dir: Path) -> bool:
    return (data_dir / FOLDER / file_name(flag, 28)).exists()


def load(flag: str, data_dir: Path, *, image_size: int = 28, split_seed: int = 0, cache_dir: Path | None = None) -> ImageDataset:
    """MedMNIST ``flag`` at ``image_size`` px with its official split (``split_seed`` and
    ``cache_dir`` are unused: the npz is the cache and the split is fixed; kept so that every
    loader has one signature)."""
    with np.load(locate(flag, data_dir, image_size)) as arrays:
        parts = [(split, arrays[f"{split}_images"], arrays[f"{split}_labels"]) for split in SPLITS]
    images = np.concatenate([imgs for _, imgs, _ in parts])
    if images.ndim == 3:  # grayscale: N x H x W
        images = images[:, None]
    else:  # colour: N x H x W x C
        images = images.transpose(0, 3, 1, 2)
    labels, class_names = single_labels(flag, np.concatenate([lbls for _, _, lbls in parts]))
    split = np.concatenate([[name] * len(lbls) for name, _, lbls in parts])
    metadata = pd.DataFrame(
        {
            "split": split,
            "label": labels,
            "sex": pd.Series([None] * len(labels), dtype=object),
            "age": np.full(len(labels), np.nan),
            "group": [f"{flag}-{i}" for i in range(len(labels))],
        }
    )
    return ImageDataset(flag, np.ascontiguousarray(images), labels, class_names, metadata)
