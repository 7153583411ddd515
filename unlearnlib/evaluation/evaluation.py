"""A model's metrics on one forget split, as the columns of its experiment row.

:func:`model_metrics` evaluates a model on retain, forget, validation and test and computes
every metric declared in :data:`unlearnlib.evaluation.metrics.METRICS` from those predictions (each
declaration carries its own computation); :func:`group_count` and :func:`shared_groups`
describe the forget set by its groups (lesions, patients).
"""
from __future__ import annotations

import numpy as np
from torch import nn

from .metrics import Predictions, compute_metrics
from ..scenarios import ForgetSplit
from ..training import Evaluation, StudyData, evaluate


def evaluate_splits(model: nn.Module, data: StudyData, split: ForgetSplit) -> tuple[dict[str, Evaluation], dict[str, np.ndarray]]:
    """Per-sample evaluations on retain, forget, val and test, and the indices of each."""
    indices = {"retain": split.retain, "forget": split.forget, "val": data.split("val"), "test": data.split("test")}
    return {name: evaluate(model, data.tensors.subset(index)) for name, index in indices.items()}, indices


def model_metrics(model: nn.Module, data: StudyData, split: ForgetSplit, *, seed: int) -> dict[str, float]:
    """Every declared metric of the model (:data:`unlearnlib.evaluation.metrics.METRICS`): accuracies per
    split (and per sex where the dataset records it), test AUC, the two membership-inference
    attacks, and how many classes the model still predicts on the test split (1 = collapsed)."""
    results, indices = evaluate_splits(model, data, split)
    attributes = {}
    if data.dataset.has_sex:
        sex = data.dataset.metadata["sex"].to_numpy()
        attributes["sex"] = {name: sex[index] for name, index in indices.items()}
    return compute_metrics(Predictions(results, attributes, seed))


def group_count(data: StudyData, indices: np.ndarray) -> int:
    """How many groups (lesions, patients) the samples at ``indices`` come from."""
    return int(data.dataset.metadata["group"].iloc[indices].nunique())


def shared_groups(data: StudyData, split: ForgetSplit) -> int:
    """Groups (lesions, patients) with images on both sides: their twins keep them in the model."""
    groups = data.dataset.metadata["group"]
    return int(len(set(groups.iloc[split.forget]) & set(groups.iloc[split.retain])))
