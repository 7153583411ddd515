"""Patient-level train / val / test splits."""
from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

# Ten folds: two make the test split, one the validation split, seven the training split
# (about 70 / 10 / 20 of the images).
_N_FOLDS = 10
_TEST_FOLDS = (0, 1)
_VAL_FOLDS = (2,)


def group_stratified_split(labels: np.ndarray, groups: np.ndarray, *, seed: int) -> np.ndarray:
    """Assign each sample to train / val / test so that no group spans two splits.

    Stratified by label (the class mix of each split follows the whole), deterministic
    under ``seed``. Returns an array of split names, one per sample.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    if len(np.unique(groups)) < _N_FOLDS:
        raise ValueError(f"need at least {_N_FOLDS} groups to split; got {len(np.unique(groups))}")
    folds = StratifiedGroupKFold(n_splits=_N_FOLDS, shuffle=True, random_state=seed)
    split = np.full(len(labels), "train", dtype=object)
    for fold, (_, held_out) in enumerate(folds.split(np.zeros(len(labels)), labels, groups)):
        if fold in _TEST_FOLDS:
            split[held_out] = "test"
        elif fold in _VAL_FOLDS:
            split[held_out] = "val"
    return split
