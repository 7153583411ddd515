"""From a profile and a forget request to tidy result rows.

The original model is trained once per (dataset, model, recipe, seed) and cached; the
retrained model is cached per forget set, so every method is compared with the same one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from . import __version__
from .algorithms import UnlearningTask, get_method, unlearn
from .data import ImageDataset, load_dataset
from .data.files import key_of
from .metrics import accuracy, balanced_accuracy, macro_auc
from .models import create_model
from .profiles import Profile
from .scenarios import ForgetSplit
from .store import ModelStore, plain
from .training import Tensors, TrainConfig, evaluate, fit


@dataclass(frozen=True)
class OriginalSpec:
    """Everything that determines the original model."""

    dataset: str
    image_size: int
    split_seed: int
    max_per_split: int | None
    model: str
    recipe: TrainConfig
    seed: int

    @classmethod
    def from_profile(cls, profile: Profile, dataset: str, seed: int) -> "OriginalSpec":
        return cls(dataset, profile.image_size, profile.split_seed, profile.max_per_split, profile.model, profile.recipe, seed)


@dataclass(frozen=True, eq=False)
class StudyData:
    """A dataset with its images as tensors, ready for training and evaluation."""

    dataset: ImageDataset
    tensors: Tensors

    def split(self, name: str) -> np.ndarray:
        return self.dataset.split_indices(name)


def load_study_data(spec: OriginalSpec, *, data_dir: str | os.PathLike | None = None) -> StudyData:
    dataset = load_dataset(spec.dataset, data_dir=data_dir, image_size=spec.image_size, split_seed=spec.split_seed)
    if spec.max_per_split is not None:
        dataset = dataset.limit(spec.max_per_split, seed=spec.split_seed)
    return StudyData(dataset, Tensors.from_arrays(dataset.images, dataset.labels))


def model_factory(spec: OriginalSpec, dataset: ImageDataset) -> Callable[[int], nn.Module]:
    def make(seed: int) -> nn.Module:
        return create_model(
            spec.model, num_classes=dataset.num_classes, in_chans=dataset.in_chans, image_size=spec.image_size, seed=seed
        )

    return make


def original_model(spec: OriginalSpec, data: StudyData, *, store: ModelStore | None = None, progress: bool = True):
    """The original model trained on the whole training split (cached); returns (model, info).

    ``info`` holds the training history: per-epoch loss and accuracy, per-sample
    correctness per epoch (epochs x N_train), and the training seconds."""
    store = store or ModelStore()
    model = model_factory(spec, data.dataset)(spec.seed)
    info = store.load("original", spec, model)
    if info is None:
        history = fit(model, data.tensors.subset(data.split("train")), spec.recipe, seed=spec.seed, progress=progress, desc="original")
        info = {"loss": history.loss, "accuracy": history.accuracy, "correct": history.correct, "seconds": history.seconds}
        store.save("original", spec, model, **info)
    return model, info


def _task(spec: OriginalSpec, data: StudyData, original: nn.Module, forget_split: ForgetSplit) -> UnlearningTask:
    return UnlearningTask(
        original=original,
        retain=data.tensors.subset(forget_split.retain),
        forget=data.tensors.subset(forget_split.forget),
        val=data.tensors.subset(data.split("val")),
        recipe=spec.recipe,
        make_model=model_factory(spec, data.dataset),
        num_classes=data.dataset.num_classes,
    )


def split_metrics(model: nn.Module, data: StudyData, splits: dict[str, np.ndarray]) -> dict[str, float]:
    """Accuracy and balanced accuracy on each named index set, AUC on test."""
    row: dict[str, float] = {}
    for name, indices in splits.items():
        result = evaluate(model, data.tensors.subset(indices))
        row[f"{name}_acc"] = accuracy(result.labels, result.preds)
        row[f"{name}_bacc"] = balanced_accuracy(result.labels, result.preds)
        if name == "test":
            row["test_auc"] = macro_auc(result.labels, result.probs)
    return row


def _unlearned(name: str, task: UnlearningTask, spec: OriginalSpec, forget_split: ForgetSplit, store: ModelStore, progress: bool):
    """The method's model and wall time; the retrained model comes from the cache when it can."""
    if name != "retrain":
        result = unlearn(name, task, seed=spec.seed, progress=progress)
        return result.model, result.seconds
    config = {"original": spec, "forget": key_of(forget_split.forget.tolist())}
    model = task.make_model(spec.seed)
    cached = store.load("retrain", config, model)
    if cached is not None:
        return model, cached["seconds"]
    result = unlearn(name, task, seed=spec.seed, progress=progress)
    store.save("retrain", config, result.model, seconds=result.seconds)
    return result.model, result.seconds


def run_methods(
    spec: OriginalSpec,
    data: StudyData,
    forget_split: ForgetSplit,
    methods: Sequence[str],
    *,
    scenario: str,
    store: ModelStore | None = None,
    progress: bool = True,
) -> list[dict]:
    """One tidy row per method: accuracies on retain / forget / val / test, wall time, config.

    The retrained model is cached per (original spec, forget set), since every method is
    measured against it; the other methods run each time."""
    for name in methods:
        get_method(name)  # fail on an unknown name before any training
    store = store or ModelStore()
    original, _ = original_model(spec, data, store=store, progress=progress)
    task = _task(spec, data, original, forget_split)
    splits = {"retain": forget_split.retain, "forget": forget_split.forget, "val": data.split("val"), "test": data.split("test")}
    rows = []
    for name in methods:
        result_model, seconds = _unlearned(name, task, spec, forget_split, store, progress)
        rows.append(
            {
                "dataset": spec.dataset,
                "model": spec.model,
                "image_size": spec.image_size,
                "scenario": scenario,
                "forget_size": len(forget_split.forget),
                "forget_fraction": len(forget_split.forget) / (len(forget_split.forget) + len(forget_split.retain)),
                "method": name,
                "seed": spec.seed,
                "seconds": seconds,
                **split_metrics(result_model, data, splits),
                "hyperparameters": str(plain(get_method(name).hyperparameters())),
                "spec": str(plain(spec)),
                "version": __version__,
            }
        )
    return rows


RUN_KEYS = ["dataset", "model", "image_size", "scenario", "forget_size", "seed"]
GAP_METRICS = ["retain_acc", "forget_acc", "test_acc"]


def compare_to_retrain(results: pd.DataFrame, metrics: Sequence[str] = GAP_METRICS) -> pd.DataFrame:
    """Add ``gap_to_retrain`` (mean absolute difference from the retrained model over
    ``metrics``) and ``rte`` (run-time efficiency, retrain seconds / method seconds; NaN
    for the untouched original) to each row, matching rows of the same run."""
    reference = results[results["method"] == "retrain"].set_index(RUN_KEYS)
    if reference.index.has_duplicates:
        raise ValueError("more than one retrain row per run")
    aligned = reference.reindex(results.set_index(RUN_KEYS).index)
    if aligned["seconds"].isna().any():
        raise ValueError("every run needs a retrain row to compare with; add 'retrain' to the methods")
    out = results.copy()
    out["gap_to_retrain"] = np.abs(results[list(metrics)].to_numpy() - aligned[list(metrics)].to_numpy()).mean(axis=1)
    with np.errstate(divide="ignore"):  # the original takes no time
        rte = aligned["seconds"].to_numpy() / results["seconds"].to_numpy()
    out["rte"] = np.where(results["method"] == "original", np.nan, rte)
    return out
