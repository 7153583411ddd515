"""Miniature copies of the official chest X-ray layouts, with random pixels.

For tests and for trying the pipeline without the real data: the files, folder names and
csv columns are the official ones, so the real loaders read them unchanged.

>>> from unlearnlib.data import miniature, load_dataset
>>> root = miniature.make_chexpert(tmp_dir)        # doctest: +SKIP
>>> load_dataset("chexpert", data_dir=root)        # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from . import chexpert, nih_chestxray14


def _save_noise(path: Path, rng: np.random.Generator, shape: tuple[int, int], mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (*shape, len(mode)) if len(mode) > 1 else shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _chexpert_labels(kind: str, rng: np.random.Generator, radiologist: bool) -> dict[str, float]:
    """One study's 14 observations; ``kind`` is normal / finding / uncertain."""
    blank = 0.0 if radiologist else np.nan  # valid.csv has no blanks and no -1
    values = {o: blank for o in chexpert.OBSERVATIONS}
    pathology = chexpert.PATHOLOGIES[int(rng.integers(len(chexpert.PATHOLOGIES)))]
    if kind == "normal":
        values["No Finding"] = 1.0
    elif kind == "finding":
        values[pathology] = 1.0
        if not radiologist:  # an uncertain mention beside a positive one is still a finding
            values[chexpert.PATHOLOGIES[(chexpert.PATHOLOGIES.index(pathology) + 1) % len(chexpert.PATHOLOGIES)]] = -1.0
    else:
        values[pathology] = -1.0
    values["Support Devices"] = float(rng.random() < 0.3) if radiologist or rng.random() < 0.5 else np.nan
    return values


def make_chexpert(
    data_dir: str | os.PathLike,
    *,
    n_patients: int = 70,
    n_valid_patients: int = 6,
    release: str = "CheXpert-v1.0-small",
    image_shape: tuple[int, int] = (48, 40),
    seed: int = 0,
) -> Path:
    """``<data_dir>/chexpert/<release>/{train.csv,valid.csv,train/,valid/}``: each patient has
    1-3 studies, each a frontal view and sometimes a lateral one; a study is normal, a finding,
    or uncertain (about 45 / 40 / 15 %). Sex alternates male / female (one patient in ten
    'Unknown'). Returns ``data_dir``."""
    if release not in chexpert.RELEASES:
        raise ValueError(f"release must be one of {chexpert.RELEASES}; got {release!r}")
    rng = np.random.default_rng(seed)
    folder = Path(data_dir) / chexpert.FOLDER / release
    tables = {"train": [], "valid": []}
    for p in range(n_patients + n_valid_patients):
        split = "train" if p < n_patients else "valid"
        patient = f"patient{p + 1:05d}" if split == "train" else f"patient{64541 + p:05d}"
        sex = "Unknown" if p % 10 == 9 else ("Male", "Female")[p % 2]
        age = int(rng.integers(18, 90))
        for study in range(1, int(rng.integers(1, 4)) + 1):
            kind = rng.choice(["normal", "finding", "uncertain"], p=[0.45, 0.4, 0.15])
            if split == "valid" and kind == "uncertain":
                kind = "finding"
            labels = _chexpert_labels(str(kind), rng, radiologist=split == "valid")
            views = [("frontal", "Frontal", str(rng.choice(["AP", "PA"])))]
            if rng.random() < 0.4:
                views.append(("lateral", "Lateral", np.nan))
            for number, (name, frontal_lateral, ap_pa) in enumerate(views, start=1):
                relative = f"{split}/{patient}/study{study}/view{number}_{name}.jpg"
                _save_noise(folder / relative, rng, image_shape)
                row = {"Path": f"{release}/{relative}", "Sex": sex, "Age": age, "Frontal/Lateral": frontal_lateral, "AP/PA": ap_pa}
                tables[split].append({**row, **labels})
    for split, rows in tables.items():
        pd.DataFrame(rows, columns=list(chexpert.COLUMNS)).to_csv(folder / f"{split}.csv", index=False)
    return Path(data_dir)


def real_nih_rows(metadata_path: str | os.PathLike, *, n_images: int = 160, seed: int = 0) -> pd.DataFrame:
    """Rows of a real ``Data_Entry_2017*.csv``: whole patients with 2-6 images each, drawn at
    random until ``n_images``, so that patients and sexes are as in the real table."""
    table = pd.read_csv(metadata_path)
    sizes = table.groupby("Patient ID").size()
    candidates = sizes[(sizes >= 2) & (sizes <= 6)].index.to_numpy()
    order = np.random.default_rng(seed).permutation(candidates)
    counts = sizes[order].to_numpy().cumsum()
    chosen = order[: int(np.searchsorted(counts, n_images)) + 1]
    return table[table["Patient ID"].isin(chosen)].reset_index(drop=True)


def _synthetic_nih_rows(n_images: int, rng: np.random.Generator) -> pd.DataFrame:
    rows, patient = [], 0
    while len(rows) < n_images:
        patient += 1
        sex, age = ("M", "F")[patient % 2], int(rng.integers(18, 90))
        for follow_up in range(int(rng.integers(2, 6))):
            findings = list(rng.choice(nih_chestxray14.FINDINGS, size=int(rng.integers(1, 3)), replace=False))
            rows.append({
                "Image Index": f"{patient:08d}_{follow_up:03d}.png",
                "Finding Labels": "No Finding" if rng.random() < 0.5 else "|".join(findings),
                "Follow-up #": follow_up, "Patient ID": patient, "Patient Age": age + follow_up // 2,
                "Patient Gender": sex, "View Position": str(rng.choice(["PA", "AP"])),
                "OriginalImage[Width": 2500, "Height]": 2048,
                "OriginalImagePixelSpacing[x": 0.143, "y]": 0.143,
            })
    return pd.DataFrame(rows[:n_images])


def make_nih(
    data_dir: str | os.PathLike,
    *,
    rows: pd.DataFrame | None = None,
    n_images: int = 160,
    layout: str = "kaggle",
    file_name: str = "Data_Entry_2017_v2020.csv",
    images: bool = True,
    image_shape: tuple[int, int] = (32, 32),
    seed: int = 0,
) -> Path:
    """``<data_dir>/nih-chestxray14/<file_name>`` (``.csv`` or ``.csv.gz``) and one PNG per row,
    in ``images/`` (``layout="nih"``) or spread over ``images_001/images`` ... (``"kaggle"``).
    ``rows`` are metadata rows to use (e.g. :func:`real_nih_rows`); by default made up with the
    real columns. Every tenth image is RGBA, as a few real ones are. ``images=False`` writes
    the metadata only, as in the offline mirror. Returns ``data_dir``."""
    if layout not in ("nih", "kaggle"):
        raise ValueError(f"layout must be 'nih' or 'kaggle'; got {layout!r}")
    rng = np.random.default_rng(seed)
    table = rows if rows is not None else _synthetic_nih_rows(n_images, rng)
    root = Path(data_dir) / nih_chestxray14.FOLDER
    root.mkdir(parents=True, exist_ok=True)
    table.to_csv(root / file_name, index=False)  # pandas gzips a .gz name
    if images:
        for i, name in enumerate(table["Image Index"]):
            folder = root / "images" if layout == "nih" else root / f"images_{1 + i * 3 // len(table):03d}" / "images"
            _save_noise(folder / name, rng, image_shape, mode="RGBA" if i % 10 == 9 else "L")
    return Path(data_dir)
