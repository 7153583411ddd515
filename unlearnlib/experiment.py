"""One experiment spec -> one tidy result record, with everything cached.

An ``ExperimentSpec`` names the original model (``OriginalSpec``), a forget-set scenario
and its parameters, an unlearning method and its hyper-parameter overrides. The
original model is trained once per ``OriginalSpec``; the retrained model once per forget
set; each record once per spec. Models and records are written atomically, so a run
killed at any moment leaves nothing half-written and a rerun only computes what is missing.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

from . import __version__
from .algorithms import Hyperparameters, UnlearningTask, get_method, unlearn
from .attacks import loss_attack, mia_efficacy
from .data import ImageDataset, load_dataset
from .data.files import key_of
from .metrics import accuracy, average_gap, balanced_accuracy, group_accuracies, macro_auc, run_time_efficiency
from .models import create_model
from .paths import atomic_write_bytes, cache_dir, device
from .profiles import Profile
from .scenarios import ForgetSplit, difficulty_scores, make_scenario
from .store import ModelStore, config_key, plain
from .training import Evaluation, Tensors, TrainConfig, evaluate, fit

SPLIT_NAMES = ("retain", "forget", "val", "test")
GAP_METRICS = ("retain_acc", "forget_acc", "test_acc", "mia_efficacy")  # the average gap, as in SalUn


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


@dataclass(frozen=True)
class ExperimentSpec:
    """One cell of the study's grid. Parameters are (name, value) pairs so the spec stays hashable."""

    original: OriginalSpec
    scenario: str
    scenario_params: tuple[tuple[str, Any], ...]
    method: str
    hyperparameters: tuple[tuple[str, Any], ...] = ()  # overrides of the method's defaults

    @classmethod
    def build(cls, original: OriginalSpec, scenario: str, method: str, *, hyperparameters=None, **scenario_params) -> "ExperimentSpec":
        return cls(original, scenario, tuple(sorted(scenario_params.items())), method, tuple(sorted((hyperparameters or {}).items())))

    @property
    def seed(self) -> int:
        return self.original.seed

    def method_hyperparameters(self) -> Hyperparameters:
        return get_method(self.method).hyperparameters(**dict(self.hyperparameters))

    def retrain_spec(self) -> "ExperimentSpec":
        return dataclasses.replace(self, method="retrain", hyperparameters=())

    def label(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.scenario_params)
        return f"{self.original.dataset} seed {self.seed} {self.scenario}({params}) {self.method}"


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
        model = create_model(spec.model, num_classes=dataset.num_classes, in_chans=dataset.in_chans, image_size=spec.image_size, seed=seed)
        return model.to(device())

    return make


def original_model(spec: OriginalSpec, data: StudyData, *, store: ModelStore | None = None, progress: bool = True):
    """The original model trained on the whole training split (cached); returns (model, info).

    ``info`` holds the training history: per-epoch ``loss`` and ``accuracy``, ``correct``
    (per-sample correctness per epoch, epochs x N_train, in training-split order) and
    ``seconds``."""
    store = store or ModelStore()
    model = model_factory(spec, data.dataset)(spec.seed)
    info = store.load("original", spec, model)
    if info is None:
        history = fit(model, data.tensors.subset(data.split("train")), spec.recipe, seed=spec.seed, progress=progress, desc="original")
        info = {"loss": history.loss, "accuracy": history.accuracy, "correct": history.correct, "seconds": history.seconds}
        store.save("original", spec, model, **info)
    return model, info


def original_difficulty(spec: OriginalSpec, data: StudyData, *, store: ModelStore | None = None):
    """Per-training-sample difficulty from the original model: final loss and learning speed."""
    model, info = original_model(spec, data, store=store)
    final = evaluate(model, data.tensors.subset(data.split("train")))
    return difficulty_scores(final.losses, info["correct"])


def forget_split(spec: ExperimentSpec, data: StudyData, *, store: ModelStore | None = None) -> ForgetSplit:
    params = dict(spec.scenario_params)
    if spec.scenario == "difficulty":
        params["scores"] = original_difficulty(spec.original, data, store=store)
    return make_scenario(spec.scenario, data.dataset, seed=spec.seed, **params)


def unlearning_task(spec: OriginalSpec, data: StudyData, original: nn.Module, split: ForgetSplit) -> UnlearningTask:
    return UnlearningTask(
        original=original,
        retain=data.tensors.subset(split.retain),
        forget=data.tensors.subset(split.forget),
        val=data.tensors.subset(data.split("val")),
        recipe=spec.recipe,
        make_model=model_factory(spec, data.dataset),
        num_classes=data.dataset.num_classes,
    )


# ----------------------------------------------------------------------------- metrics


def evaluate_splits(model: nn.Module, data: StudyData, split: ForgetSplit) -> tuple[dict[str, Evaluation], dict[str, np.ndarray]]:
    """Per-sample evaluations on retain, forget, val and test, and the indices of each."""
    indices = {"retain": split.retain, "forget": split.forget, "val": data.split("val"), "test": data.split("test")}
    return {name: evaluate(model, data.tensors.subset(index)) for name, index in indices.items()}, indices


def model_metrics(model: nn.Module, data: StudyData, split: ForgetSplit, *, seed: int) -> dict[str, float]:
    """Every per-model metric of the study: accuracies per split (and per sex where the
    dataset records it), test AUC, and the two membership-inference attacks."""
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
    row["loss_attack"] = loss_attack(forget.losses, test.losses, seed=seed) if len(forget.losses) >= 10 else float("nan")
    return row


# ----------------------------------------------------------------------------- records


def _resolved_hyperparameters(spec: ExperimentSpec) -> str:
    return json.dumps(plain(spec.method_hyperparameters().as_dict()))


def _is_current(spec, record: dict) -> bool:
    """A record is stale when the method's defaults changed since it was made: the key holds
    only the overrides, the record the values actually used."""
    if isinstance(spec, ExperimentSpec) and "hyperparameters" in record:
        return record["hyperparameters"] == _resolved_hyperparameters(spec)
    return True


class ResultStore:
    """One JSON record per spec under ``<cache>/results/<key>.json``, written atomically."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "results"

    def path(self, spec: ExperimentSpec) -> Path:
        return self.root / f"{config_key(spec)}.json"

    def load(self, spec) -> dict | None:
        try:
            record = json.loads(self.path(spec).read_text())
        except (OSError, ValueError):  # absent or unreadable: compute it (again)
            return None
        return record if _is_current(spec, record) else None

    def save(self, spec: ExperimentSpec, record: dict) -> None:
        atomic_write_bytes(self.path(spec), json.dumps(record, default=float, indent=1).encode())

    def __contains__(self, spec: ExperimentSpec) -> bool:
        return self.load(spec) is not None


def _unlearned_model(
    spec: ExperimentSpec, task: UnlearningTask, split: ForgetSplit, store: ModelStore, progress: bool, seed: int | None = None
):
    """The method's model and wall time (``seed`` defaults to the spec's); the retrained
    model is cached per forget set and seed."""
    seed = spec.seed if seed is None else seed
    if spec.method != "retrain":
        result = unlearn(spec.method, task, spec.method_hyperparameters(), seed=seed, progress=progress)
        return result.model, result.seconds
    config = {"original": spec.original, "forget": key_of(split.forget.tolist()), "hyperparameters": spec.hyperparameters, "seed": seed}
    model = task.make_model(seed)
    cached = store.load("retrain", config, model)
    if cached is not None:
        return model, cached["seconds"]
    result = unlearn("retrain", task, spec.method_hyperparameters(), seed=seed, progress=progress)
    store.save("retrain", config, result.model, seconds=result.seconds)
    return result.model, result.seconds


def _prepare(experiment: ExperimentSpec, data: StudyData | None, models: ModelStore, progress: bool = False):
    """Data, forget split and unlearning task of an experiment (the original from the cache)."""
    data = data or load_study_data(experiment.original)
    original, _ = original_model(experiment.original, data, store=models, progress=progress)
    split = forget_split(experiment, data, store=models)
    return data, split, unlearning_task(experiment.original, data, original, split)


def run_experiment(
    spec: ExperimentSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
    progress: bool = False,
) -> dict:
    """The tidy record of one spec: its metrics, the retrained model's beside them, gaps,
    timings, the full spec and the library version. Cached: a second call reads the record."""
    results = results or ResultStore()
    cached = results.load(spec)
    if cached is not None:
        return cached
    models = models or ModelStore()
    get_method(spec.method)  # fail on an unknown name before any training
    data, split, task = _prepare(spec, data, models, progress)
    started = time.perf_counter()
    model, seconds = _unlearned_model(spec, task, split, models, progress)
    metrics = model_metrics(model, data, split, seed=spec.seed)
    if spec.method == "retrain":
        reference = {**metrics, "seconds": seconds}
    else:
        reference = run_experiment(spec.retrain_spec(), data=data, models=models, results=results, progress=progress)
    record = {
        "dataset": spec.original.dataset,
        "model": spec.original.model,
        "image_size": spec.original.image_size,
        "seed": spec.seed,
        "scenario": spec.scenario,
        **{f"scenario_{k}": v for k, v in spec.scenario_params},
        "scenario_description": split.description,
        "forget_size": len(split.forget),
        "forget_fraction": len(split.forget) / (len(split.forget) + len(split.retain)),
        "method": spec.method,
        "hyperparameters": _resolved_hyperparameters(spec),
        "seconds": seconds,
        **metrics,
        **{f"retrain_{k}": reference[k] for k in metrics},
        **{f"gap_{k}": abs(metrics[k] - reference[k]) for k in metrics},
        "avg_gap": average_gap(metrics, reference, GAP_METRICS),
        "retrain_seconds": reference["seconds"],
        "rte": run_time_efficiency(reference["seconds"], seconds) if spec.method != "original" else float("nan"),
        "eval_seconds": time.perf_counter() - started - seconds,
        "spec": json.dumps(plain(spec)),
        "spec_key": config_key(spec),
        "unlearnlib_version": __version__,
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results.save(spec, record)
    return record


# ----------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class TuningSpec:
    """Tune one method on one forget set under one objective."""

    experiment: ExperimentSpec  # the method's run with default hyper-parameters on that forget set
    objective: str
    n_trials: int


def run_tuning(
    spec: TuningSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """A cached record of one tuning run: best parameters, every trial, and the cost in retrains."""
    from .tuning import tune

    results = results or ResultStore()
    cached = results.load(spec)
    if cached is not None:
        return cached
    models = models or ModelStore()
    experiment = spec.experiment
    data, split, task = _prepare(experiment, data, models)
    retrained, retrain_seconds = _unlearned_model(experiment.retrain_spec(), task, split, models, progress=False)
    result = tune(experiment.method, task, objective=spec.objective, n_trials=spec.n_trials, seed=experiment.seed,
                  retrained=retrained if spec.objective == "retrain" else None)
    record = {
        "dataset": experiment.original.dataset,
        "seed": experiment.seed,
        "scenario": experiment.scenario,
        "method": experiment.method,
        "objective": spec.objective,
        "n_trials": spec.n_trials,
        "best_params": json.dumps(plain(result.best_params)),
        "best_value": result.best_value,
        "tuning_seconds": result.total_seconds,
        "retrain_seconds": retrain_seconds,
        "cost_in_retrains": result.total_seconds / retrain_seconds,
        "trials": json.dumps(plain(result.trials)),
        "spec": json.dumps(plain(spec)),
        "unlearnlib_version": __version__,
    }
    results.save(spec, record)
    return record


# ----------------------------------------------------------------------------- forgetting quality


@dataclass(frozen=True)
class ForgettingQualitySpec:
    """The NeurIPS 2023 challenge's score for one method on one forget set, from
    ``n_models`` unlearned and ``n_models`` retrained models (seeds 0 .. n_models-1 offset
    by 1000 x the spec's seed; the original model is shared)."""

    experiment: ExperimentSpec
    n_models: int = 8


def run_forgetting_quality(
    spec: ForgettingQualitySpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """Cached record: forget score F, forgetting quality F x accuracy ratios, and the ratios.

    For ``retrain`` itself the "unlearned" models are a second, independent set of
    retrained models: the score a perfect method gets at this N (the noise floor)."""
    from .attacks import accuracy_ratio, forget_score, forgetting_quality, logit_scaled_confidence

    if spec.n_models < 3:
        raise ValueError(f"forgetting quality needs at least 3 models per side; got {spec.n_models}")
    results = results or ResultStore()
    cached = results.load(spec)
    if cached is not None:
        return cached
    models = models or ModelStore()
    experiment = spec.experiment
    data, split, task = _prepare(experiment, data, models)
    base = 1000 * experiment.seed
    offset = spec.n_models if experiment.method == "retrain" else 0  # retrain vs independent retrains

    def statistics(method_spec: ExperimentSpec, seeds) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        stats, retain_accs, test_accs, seconds = [], [], [], 0.0
        for seed in seeds:
            model, took = _unlearned_model(method_spec, task, split, models, False, seed=seed)
            forget, retain = evaluate(model, task.forget), evaluate(model, task.retain)
            test = evaluate(model, data.tensors.subset(data.split("test")))
            stats.append(logit_scaled_confidence(forget.logits, forget.labels))
            retain_accs.append(retain.accuracy)
            test_accs.append(test.accuracy)
            seconds += took
        return np.stack(stats), np.array(retain_accs), np.array(test_accs), seconds

    retrained = statistics(experiment.retrain_spec(), [base + i for i in range(spec.n_models)])
    unlearned = statistics(experiment, [base + offset + i for i in range(spec.n_models)])
    retain_ratio = accuracy_ratio(unlearned[1], retrained[1])
    test_ratio = accuracy_ratio(unlearned[2], retrained[2])
    record = {
        "dataset": experiment.original.dataset,
        "seed": experiment.seed,
        "scenario": experiment.scenario,
        "method": experiment.method,
        "n_models": spec.n_models,
        "forget_size": len(split.forget),
        "forget_score": forget_score(unlearned[0], retrained[0]),
        "retain_acc_ratio": retain_ratio,
        "test_acc_ratio": test_ratio,
        "forgetting_quality": forgetting_quality(unlearned[0], retrained[0], retain_acc_ratio=retain_ratio, test_acc_ratio=test_ratio),
        "method_seconds": unlearned[3] / spec.n_models,
        "spec": json.dumps(plain(spec)),
        "unlearnlib_version": __version__,
    }
    results.save(spec, record)
    return record
