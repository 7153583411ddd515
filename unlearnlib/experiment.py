"""One experiment spec -> one tidy result row in the ledger; models cached on the side.

An ``ExperimentSpec`` names the original model (``OriginalSpec``), a forget-set scenario
and its parameters, an unlearning method and its hyper-parameter overrides. The
original model is trained once per ``OriginalSpec``; the retrained model once per forget
set; each row once per spec. Rows go to the results ledger (:mod:`unlearnlib.ledger`,
committed), models to the model cache (ignored), both written atomically, so a run killed
at any moment leaves nothing half-written and a rerun only computes what is missing.

Seeds: an original of seed ``s`` is initialised (and its data shuffled) with ``s``; every
retrained model draws its initialisation from a disjoint stream (:func:`retrain_seed`),
so the gold standard never shares the original's initial weights.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from torch import nn

from .algorithms import DivergedError, Hyperparameters, UnlearningTask, get_method, unlearn
from .attacks import loss_attack, mia_efficacy
from .data import ImageDataset, load_dataset
from .ledger import Ledger
from .metrics import (GAP_METRICS, accuracy, average_gap, balanced_accuracy, group_accuracies, macro_auc, membership_auc,
                      run_time_efficiency)
from .models import create_model, dead_weight_share
from .paths import device
from .profiles import Profile
from .scenarios import ForgetSplit, difficulty_scores, make_scenario, scenario_inputs
from .provenance import config_key, key_of, method_code_version, plain, stamp
from .store import ModelStore
from .training import Evaluation, Tensors, TrainConfig, evaluate, fit

# Bump when shared code (data, splits, training, scenarios, metrics) changes results: every
# row made with another value is recomputed. Method code is versioned per method.
PIPELINE_VERSION = "2"
# The forgetting-quality interval (attacks.relative_forgetting_quality), which no method digest covers:
# 2 = delete-d jackknife over half-samples (1 was a with-replacement bootstrap, biased upward).
FQ_INTERVAL_VERSION = "2"
ORIGINAL_VERSION = "1"  # the same for what the originals' rows depend on (data, splits, training, metrics)
SPLIT_NAMES = ("retain", "forget", "val", "test")
RETRAIN_SEED_BASE = 100_000  # originals use seeds below it, retrained models seeds above
TUNING_SEED = 90  # the tuning runs' original and forget set: no evaluation uses this seed


def retrain_seed(seed: int, replica: int = 0) -> int:
    """The initialisation seed of retrained model ``replica`` for experiment seed ``seed``:
    disjoint from every original's seed (and from the other replicas')."""
    if not 0 <= replica < 1000:
        raise ValueError(f"replica must lie in [0, 1000); got {replica}")
    return RETRAIN_SEED_BASE + 1000 * int(seed) + replica


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
    profile: str = ""

    @classmethod
    def from_profile(cls, profile: Profile, dataset: str, seed: int) -> "OriginalSpec":
        return cls(dataset, profile.image_size_for(dataset), profile.split_seed, profile.max_per_split, profile.model,
                   profile.recipe, seed, profile.name)


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
        extra = f" {dict(self.hyperparameters)}" if self.hyperparameters else ""
        return f"{self.original.dataset} seed {self.seed} {self.scenario}({params}) {self.method}{extra}"


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


# ----------------------------------------------------------------------------- per-original rows


def _original_version() -> str:
    return f"o{ORIGINAL_VERSION}"


def _original_row(spec: OriginalSpec, data: StudyData, models: ModelStore) -> dict:
    """How well the original fits and generalizes, and whether it memorizes."""
    model, info = original_model(spec, data, store=models, progress=False)
    train = data.tensors.subset(data.split("train"))
    on = {name: evaluate(model, data.tensors.subset(data.split(name))) for name in ("train", "val", "test")}
    by_sex = {}
    if data.dataset.has_sex:
        sex = data.dataset.metadata["sex"].to_numpy()[data.split("test")]
        by_sex = {f"test_{k}": v for k, v in group_accuracies(on["test"].labels, on["test"].preds, sex, values=("male", "female")).items()}
    return {
        **stamp(config_key(spec), spec.profile, _original_version()),
        "dataset": spec.dataset, "model": spec.model, "image_size": spec.image_size, "seed": spec.seed, "init_seed": spec.seed,
        "recipe": json.dumps(plain(spec.recipe)), "n_train": len(train),
        "train_acc": on["train"].accuracy, "val_acc": on["val"].accuracy, "test_acc": on["test"].accuracy,
        "test_bacc": balanced_accuracy(on["test"].labels, on["test"].preds), "test_auc": macro_auc(on["test"].labels, on["test"].probs),
        "membership_auc": membership_auc(on["train"].losses, on["test"].losses),
        "dead_weight_share": dead_weight_share(model, train.x, train.y),
        **by_sex,
        "train_seconds": float(info["seconds"]),
        "epoch_loss": json.dumps([round(float(v), 6) for v in info["loss"]]),
        "epoch_accuracy": json.dumps([round(float(v), 6) for v in info["accuracy"]]),
    }


def original_summary(spec: OriginalSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
                     ledger: Ledger | None = None) -> dict:
    """The ledger row of an original model (trained and measured when missing)."""
    ledger = ledger or Ledger()
    rows = ledger.fetch_or_compute("originals", config_key(spec), _original_version(),
                                   lambda: _original_row(spec, data or load_study_data(spec), models or ModelStore()),
                                   describe=f"the original {spec.dataset} seed {spec.seed}")
    return rows.iloc[0].to_dict()


def _sample_rows(spec: OriginalSpec, data: StudyData, models: ModelStore) -> pd.DataFrame:
    model, info = original_model(spec, data, store=models, progress=False)
    train = data.split("train")
    scores = difficulty_scores(evaluate(model, data.tensors.subset(train)).losses, info["correct"])
    provenance = stamp(config_key(spec), spec.profile, _original_version())
    return pd.DataFrame({**provenance, "dataset": spec.dataset, "seed": spec.seed, "sample": np.arange(len(train)), "index": train,
                         "loss": scores["loss"].to_numpy(), "learning_speed": scores["learning_speed"].to_numpy()})


def _memorization_spec(spec: OriginalSpec, n_models: int) -> dict:
    # A property of the data and the recipe, not of one original: one estimate per dataset.
    return {"memorization": dataclasses.replace(spec, seed=0), "n_models": n_models}


def _memorization_rows(spec: OriginalSpec, n_models: int, data: StudyData) -> pd.DataFrame:
    from .memorization import memorization_scores

    train = data.split("train")
    result = memorization_scores(data.tensors.subset(train), make_model=model_factory(spec, data.dataset), recipe=spec.recipe,
                                 n_models=n_models, seed=spec.seed)
    provenance = stamp(config_key(_memorization_spec(spec, n_models)), spec.profile, _original_version())
    return pd.DataFrame({**provenance, "dataset": spec.dataset, "n_models": n_models, "sample": np.arange(len(train)), "index": train,
                         "memorization": result.memorization, "memorization_acc": result.memorization_acc, "seconds": result.seconds})


def difficulty_table(spec: OriginalSpec, *, memorization_models: int, data: StudyData | None = None,
                     models: ModelStore | None = None, ledger: Ledger | None = None) -> pd.DataFrame:
    """One row per training sample (training-split order): the original's final ``loss``
    and ``learning_speed``, and the data's ``memorization`` estimate (Feldman & Zhang)."""
    ledger, models = ledger or Ledger(), models or ModelStore()
    lazy = _Lazy(lambda: data or load_study_data(spec))
    scores = ledger.fetch_or_compute("sample_scores", config_key(spec), _original_version(),
                                     lambda: _sample_rows(spec, lazy(), models), describe=f"per-sample scores of {spec.dataset} seed {spec.seed}")
    memo_spec = _memorization_spec(spec, memorization_models)
    memo = ledger.fetch_or_compute("memorization", config_key(memo_spec), _original_version(),
                                   lambda: _memorization_rows(memo_spec["memorization"], memorization_models, lazy()),
                                   describe=f"memorization of {spec.dataset} ({memorization_models} models)")
    table = scores.sort_values("sample")[["sample", "index", "loss", "learning_speed"]].reset_index(drop=True)
    table["memorization"] = memo.sort_values("sample")["memorization"].to_numpy()
    return table


class _Lazy:
    """Compute once, on first call (a dataset load only when something is missing)."""

    def __init__(self, make):
        self._make, self._value = make, None

    def __call__(self):
        if self._value is None:
            self._value = self._make()
        return self._value


def forget_split(spec: ExperimentSpec, data: StudyData, *, store: ModelStore | None = None, ledger: Ledger | None = None,
                 memorization_models: int | None = None) -> ForgetSplit:
    params = dict(spec.scenario_params)
    if "scores" in scenario_inputs(spec.scenario):
        from .profiles import PROFILES, Profile

        # A profile made on the fly (tests, notebooks) has no registered name: the default then.
        known = PROFILES.get(spec.original.profile)
        n = memorization_models or (known.memorization_models if known else Profile.memorization_models)
        params["scores"] = difficulty_table(spec.original, memorization_models=n, data=data, models=store, ledger=ledger)
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
    row["loss_attack"] = loss_attack(forget.losses, test.losses, seed=seed) if len(forget.losses) >= 10 else float("nan")
    row["test_classes_predicted"] = int(len(np.unique(test.preds)))
    return row


# ----------------------------------------------------------------------------- results


def code_version(spec) -> str:
    """The code that made a row: the shared pipeline's version and the method's code digest
    (and the retraining code's, which every comparison depends on)."""
    method = spec.method if isinstance(spec, ExperimentSpec) else spec.experiment.method
    kind = "" if isinstance(spec, ExperimentSpec) else type(spec).__name__[:2].lower()
    if isinstance(spec, ForgettingQualitySpec):
        kind += FQ_INTERVAL_VERSION
    return f"p{PIPELINE_VERSION}{kind}-{method_code_version(method)}-{method_code_version('retrain')}"


def _kind(spec) -> str:
    return {ExperimentSpec: "experiments", TuningSpec: "tuning", ForgettingQualitySpec: "forgetting_quality"}[type(spec)]


def _profile_of(spec) -> str:
    experiment = spec if isinstance(spec, ExperimentSpec) else spec.experiment
    return experiment.original.profile


class ResultStore:
    """The rows of experiments, tuning runs and forgetting-quality runs, in the ledger
    under ``root`` (default: the project's ``data/ledger``)."""

    def __init__(self, root=None):
        self.ledger = Ledger(root)

    def load(self, spec) -> dict | None:
        return self.ledger.get(_kind(spec), config_key(spec), code_version(spec))

    def fetch(self, spec, compute: Callable[[], dict]) -> dict:
        """The row of ``spec``, computed by ``compute()`` and appended when missing."""
        def row() -> dict:
            computed = compute()  # first: the stamp's finished_utc is the time the row was done
            return {**stamp(config_key(spec), _profile_of(spec), code_version(spec)), **computed}

        label = spec.label() if isinstance(spec, ExperimentSpec) else f"{type(spec).__name__} of {spec.experiment.label()}"
        self.ledger.fetch_or_compute(_kind(spec), config_key(spec), code_version(spec), row, describe=label)
        return self.load(spec)

    def __contains__(self, spec) -> bool:
        return self.load(spec) is not None


def _unlearned_model(spec: ExperimentSpec, task: UnlearningTask, split: ForgetSplit, store: ModelStore, progress: bool,
                     seed: int | None = None):
    """The method's model and wall time. ``seed``: the method's seed (default the spec's);
    for ``retrain`` the initialisation seed (default :func:`retrain_seed`). Retrained
    models are cached per forget set and seed."""
    if spec.method != "retrain":
        result = unlearn(spec.method, task, spec.method_hyperparameters(), seed=spec.seed if seed is None else seed, progress=progress)
        return result.model, result.seconds
    seed = retrain_seed(spec.seed) if seed is None else seed
    config = {"original": spec.original, "forget": key_of(split.forget.tolist()), "hyperparameters": spec.hyperparameters, "seed": seed,
              "code": method_code_version("retrain")}
    model = task.make_model(seed)
    cached = store.load("retrain", config, model)
    if cached is not None:
        return model, cached["seconds"]
    result = unlearn("retrain", task, spec.method_hyperparameters(), seed=seed, progress=progress)
    store.save("retrain", config, result.model, seconds=result.seconds)
    return result.model, result.seconds


def _prepare(experiment: ExperimentSpec, data: StudyData | None, models: ModelStore, progress: bool = False,
             ledger: Ledger | None = None):
    """Data, forget split and unlearning task of an experiment (the original from the cache)."""
    data = data or load_study_data(experiment.original)
    original, _ = original_model(experiment.original, data, store=models, progress=progress)
    split = forget_split(experiment, data, store=models, ledger=ledger)
    return data, split, unlearning_task(experiment.original, data, original, split)


def _status(metrics: dict) -> str:
    return "collapsed: predicts one class on test" if metrics.get("test_classes_predicted") == 1 else "ok"


def run_experiment(
    spec: ExperimentSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
    progress: bool = False,
) -> dict:
    """The tidy row of one spec: its metrics, the retrained model's beside them, gaps,
    timings, the full spec and its provenance. Read from the ledger when there.

    A method whose loss diverges is stopped: its row says ``status = diverged`` and has no
    metrics; one that collapses to a single class keeps its metrics and says ``collapsed``."""
    results = results or ResultStore()
    get_method(spec.method)  # fail on an unknown name before any work

    def compute() -> dict:
        nonlocal data
        models_ = models or ModelStore()
        data, split, task = _prepare(spec, data, models_, progress, ledger=results.ledger)
        if spec.method == "retrain":
            reference = None
        else:
            reference = run_experiment(spec.retrain_spec(), data=data, models=models_, results=results, progress=progress)
        started = time.perf_counter()
        try:
            model, seconds = _unlearned_model(spec, task, split, models_, progress)
            metrics = model_metrics(model, data, split, seed=spec.seed)
            status = _status(metrics)
        except DivergedError as error:
            seconds, metrics, status = time.perf_counter() - started, {}, f"diverged: {error}"
        if reference is None:
            reference, keys = {**metrics, "seconds": seconds}, list(metrics)
        else:  # the retrain row holds each metric of the retrained model as retrain_<metric>
            keys = [k[len("retrain_"):] for k in reference if k.startswith("retrain_") and k not in _NOT_METRICS]
            reference = {**{k: reference[k] for k in keys}, "seconds": reference["seconds"]}
        return {
            "dataset": spec.original.dataset,
            "model": spec.original.model,
            "image_size": spec.original.image_size,
            "seed": spec.seed,
            "init_seed": retrain_seed(spec.seed) if spec.method == "retrain" else spec.seed,
            "retrain_init_seed": retrain_seed(spec.seed),
            "scenario": spec.scenario,
            **{f"scenario_{k}": v for k, v in spec.scenario_params},
            "scenario_description": split.description,
            "forget_size": len(split.forget),
            "forget_fraction": len(split.forget) / (len(split.forget) + len(split.retain)),
            "forget_groups": _group_count(data, split.forget),
            "forget_groups_in_retain": _shared_groups(data, split),
            "method": spec.method,
            "hyperparameters": json.dumps(plain(spec.method_hyperparameters().as_dict()), sort_keys=True),
            "tuned": bool(spec.hyperparameters),
            "status": status,
            "seconds": seconds,
            **{k: metrics.get(k, float("nan")) for k in keys},
            **{f"retrain_{k}": reference[k] for k in keys},
            **{f"gap_{k}": abs(metrics.get(k, float("nan")) - reference[k]) for k in keys},
            "avg_gap": average_gap(metrics, reference, GAP_METRICS) if metrics else float("nan"),
            "retrain_seconds": reference["seconds"],
            "rte": run_time_efficiency(reference["seconds"], seconds) if spec.method != "original" else float("nan"),
            "eval_seconds": time.perf_counter() - started - seconds,
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


_NOT_METRICS = ("retrain_seconds", "retrain_init_seed")


def _group_count(data: StudyData, indices: np.ndarray) -> int:
    return int(data.dataset.metadata["group"].iloc[indices].nunique())


def _shared_groups(data: StudyData, split: ForgetSplit) -> int:
    """Groups (lesions, patients) with images on both sides: their twins keep them in the model."""
    groups = data.dataset.metadata["group"]
    return int(len(set(groups.iloc[split.forget]) & set(groups.iloc[split.retain])))


# ----------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class TuningSpec:
    """Tune one method on one forget set under one objective."""

    experiment: ExperimentSpec  # the method's run with default hyper-parameters on that forget set
    objective: str
    n_trials: int


def tuning_spec(profile: Profile, dataset: str, method: str, *, objective: str = "retrain", fraction: float = 0.1,
                n_trials: int | None = None) -> TuningSpec:
    """The study's tuning run of ``method``: on the tuning seed's original and forget set
    (:data:`TUNING_SEED`, which no evaluation uses), scored on the validation split."""
    original = OriginalSpec.from_profile(profile, dataset, TUNING_SEED)
    return TuningSpec(ExperimentSpec.build(original, "random", method, fraction=fraction), objective,
                      profile.tuning_trials if n_trials is None else n_trials)


def run_tuning(
    spec: TuningSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """The ledger row of one tuning run: best parameters, every trial, and the cost in retrains."""
    from .tuning import tune

    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = _prepare(experiment, data, models_, ledger=results.ledger)
        retrained, retrain_seconds = _unlearned_model(experiment.retrain_spec(), task, split, models_, progress=False)
        result = tune(experiment.method, task, objective=spec.objective, n_trials=spec.n_trials, seed=experiment.seed,
                      retrained=retrained if spec.objective == "retrain" else None)
        return {
            "dataset": experiment.original.dataset,
            "seed": experiment.seed,
            "scenario": experiment.scenario,
            "forget_size": len(split.forget),
            "method": experiment.method,
            "objective": spec.objective,
            "n_trials": spec.n_trials,
            "best_params": json.dumps(plain(result.best_params), sort_keys=True),
            "best_value": result.best_value,
            "diverged_trials": sum(t.get("status", "ok") != "ok" for t in result.trials),
            "tuning_seconds": result.total_seconds,
            "retrain_seconds": retrain_seconds,
            "cost_in_retrains": result.total_seconds / retrain_seconds,
            "trials": json.dumps(plain(result.trials)),
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def tuned_hyperparameters(record: dict) -> dict:
    """The best parameters of a tuning row, as overrides for an ``ExperimentSpec``."""
    return json.loads(record["best_params"])


# ----------------------------------------------------------------------------- forgetting quality


@dataclass(frozen=True)
class ForgettingQualitySpec:
    """The NeurIPS 2023 challenge's score for one method on one forget set, from
    ``n_models`` unlearned and ``n_models`` retrained models. Retrained model ``i`` has
    initialisation seed ``retrain_seed(seed, i)``; a second, independent set of retrained
    models (``retrain_seed(seed, n_models + i)``) gives the score of a perfect method at
    this N, against which each method's score is reported (``relative_to_retrain``).
    Unlearning run ``i`` uses method seed ``1000 * seed + i``; the original is shared."""

    experiment: ExperimentSpec
    n_models: int = 32
    n_boot: int = 200  # half-sample replicates of the interval (each recomputes two scores: seconds each)


def _statistics(method_spec: ExperimentSpec, seeds, task, split, data, models) -> dict[str, np.ndarray | float]:
    from .attacks import logit_scaled_confidence

    stats, retain_accs, test_accs, seconds = [], [], [], 0.0
    test_set = data.tensors.subset(data.split("test"))
    for seed in seeds:
        model, took = _unlearned_model(method_spec, task, split, models, False, seed=seed)
        forget = evaluate(model, task.forget)
        stats.append(logit_scaled_confidence(forget.logits, forget.labels))
        retain_accs.append(evaluate(model, task.retain).accuracy)
        test_accs.append(evaluate(model, test_set).accuracy)
        seconds += took
    return {"stats": np.stack(stats), "retain": np.array(retain_accs), "test": np.array(test_accs), "seconds": seconds}


def run_forgetting_quality(
    spec: ForgettingQualitySpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """Ledger row: forget score F, forgetting quality F x accuracy ratios, the ratios, and
    the score relative to independent retrains with a 95 % interval over models (half-sample jackknife)."""
    from .attacks import MIN_FQ_MODELS, accuracy_ratio, forget_score, forgetting_quality, relative_forgetting_quality

    if spec.n_models < MIN_FQ_MODELS:  # checked before any model is trained
        raise ValueError(f"forgetting quality needs at least {MIN_FQ_MODELS} models per side (its interval halves each set); got {spec.n_models}")
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = _prepare(experiment, data, models_, ledger=results.ledger)
        n, seed = spec.n_models, experiment.seed
        retrain_spec = experiment.retrain_spec()
        retrained = _statistics(retrain_spec, [retrain_seed(seed, i) for i in range(n)], task, split, data_, models_)
        reference = _statistics(retrain_spec, [retrain_seed(seed, n + i) for i in range(n)], task, split, data_, models_)
        unlearned = reference if experiment.method == "retrain" else _statistics(
            experiment, [1000 * seed + i for i in range(n)], task, split, data_, models_)
        accs = {name: (side["retain"], side["test"]) for name, side in (("u", unlearned), ("r", retrained), ("c", reference))}
        relative = relative_forgetting_quality(unlearned["stats"], retrained["stats"], reference["stats"], unlearned_accs=accs["u"],
                                               retrained_accs=accs["r"], reference_accs=accs["c"],
                                               n_boot=spec.n_boot, seed=seed)
        retain_ratio = accuracy_ratio(unlearned["retain"], retrained["retain"])
        test_ratio = accuracy_ratio(unlearned["test"], retrained["test"])
        return {
            "dataset": experiment.original.dataset,
            "seed": seed,
            "scenario": experiment.scenario,
            "method": experiment.method,
            "n_models": n,
            "forget_size": len(split.forget),
            "forget_score": forget_score(unlearned["stats"], retrained["stats"]),
            "retain_acc_ratio": retain_ratio,
            "test_acc_ratio": test_ratio,
            "forgetting_quality": forgetting_quality(unlearned["stats"], retrained["stats"], retain_acc_ratio=retain_ratio, test_acc_ratio=test_ratio),
            "ceiling_score": relative.ceiling,
            "relative_to_retrain": relative.relative_to_retrain,
            "ci_low": relative.ci_low,
            "ci_high": relative.ci_high,
            "n_boot": relative.n_boot,
            "identical_models": relative.identical_models,
            "note": relative.note,
            "method_seconds": unlearned["seconds"] / n,
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)
