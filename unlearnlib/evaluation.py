"""A model's metrics on one forget split, as the columns of its experiment row.

:func:`model_metrics` evaluates a model on retain, forget, validation and test and assembles
every per-model metric of the study (the functions themselves live in :mod:`unlearnlib.metrics`
and :mod:`unlearnlib.attacks`); :func:`group_count` and :func:`shared_groups` describe the
forget set by its groups (lesions, patients).
"""
from __future__ import annotations

import numpy as np
from torch import nn

from .attacks import MIN_LOSS_ATTACK_SAMPLES, loss_attack, mia_efficacy
from .metrics import accuracy, balanced_accuracy, group_accuracies, macro_auc
from .originals import StudyData
from .scenarios import ForgetSplit
from .training import Evaluation, evaluate


def evaluate_splits(model: nn.Module, data: StudyData, split: ForgetSplit) -> tuple[dict[str, Evaluation], dict[str, np.ndarray]]:
    """Per-sample evaluations on retain, forget, val and test, and the indices of each."""
    indices = {"retain": split.retain, "forget": split.forget, "val": data.split("val"), "test": data.split("test")}
    return {name: evaluate(model, data.tensors.subset(index)) for name, index in indices.items()}, indices


def model_metrics(model: nn.Module, data: StudyData, split: ForgetSplit, *, seed: int) -> dict[str, float]:
    """Every per-model metric of the study: accuracies per split (and per sex where the
    dataset records it), test AUC, the two membership-inference attacks, and how many
    classes the model still predicts on the test split (1 = collapsed)."""
    results, indices = evaluate_splits(model, data, split)
    row: dict[str, float] = {}
    for name, result in results.items():
        row[f"{name}_acc"] = accuracy(result.labels, result.preds)
        row[f"{name}_bacc"] = balanced_accuracy(result.labels, result.preds)
    row["test_auc"] = macro_auc(results["test"].labels, results["test"].probs)
    if data.dataset.has_sex:
        sex = data.dataset.metadata["sex"].to_numpy()
        for name in ("forget", "test"):
            result = results[name]
            groups = group_accuracies(result.labels, result.preds, sex[indices[name]], values=("male", "female"))
            row.update({f"{name}_{key}": value for key, value in groups.items()})
    retain, test, forget = results["retain"], results["test"], results["forget"]
    row["mia_efficacy"] = mia_efficacy(retain.logits, retain.labels, test.logits, test.labels, forget.logits, forget.labels, seed=seed)
    enough = len(forget.losses) >= MIN_LOSS_ATTACK_SAMPLES  # a smaller forget set has no loss attack
    row["loss_attack"] = loss_attack(forget.losses, test.losses, seed=seed) if enough else float("nan")
    row["test_classes_predicted"] = int(len(np.unique(test.preds)))
    return row


def group_count(data: StudyData, indices: np.ndarray) -> int:
    """How many groups (lesions, patients) the samples at ``indices`` come from."""
    return int(data.dataset.metadata["group"].iloc[indices].nunique())


def shared_groups(data: StudyData, split: ForgetSplit) -> int:
    """Groups (lesions, patients) with images on both sides: their twins keep them in the model."""
    groups = data.dataset.metadata["group"]
    return int(len(set(groups.iloc[split.forget]) & set(groups.iloc[split.retain])))
