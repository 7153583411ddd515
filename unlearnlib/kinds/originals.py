"""The original models and what is measured on them once: their ledger rows, per-sample scores
and the data's memorization estimate.

The original model is trained once per :class:`~unlearnlib.kinds.specs.OriginalSpec` and cached in
the model store; its rows (``originals``, ``sample_scores``) and the memorization estimate
(``memorization``, one per dataset and recipe) go to the ledger, versioned by
``OriginalSpec.code_version()``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from torch import nn

from ..data import ImageDataset, load_dataset
from ..results.ledger import Ledger
from ..evaluation.memorization import DEFINITION as MEMORIZATION_DEFINITION, memorization_scores
from ..evaluation.metrics import balanced_accuracy, group_accuracies, macro_auc, membership_auc
from ..models import create_model, dead_weight_share
from ..paths import device
from ..profiles import memorization_target_for
from ..provenance import config_key, plain, stamp
from ..scenarios import difficulty_scores
from .specs import OriginalSpec
from ..results.store import ModelStore
from ..training import FitTarget, FitTargetMissed, StudyData, Tensors, evaluate, fit  # noqa: F401  (StudyData re-exported)


def load_study_data(spec: OriginalSpec, *, data_dir: str | os.PathLike | None = None) -> StudyData:
    dataset = load_dataset(spec.dataset, data_dir=data_dir, image_size=spec.image_size, split_seed=spec.split_seed)
    if spec.max_per_split is not None:
        dataset = dataset.limit(spec.max_per_split, seed=spec.split_seed)
    return StudyData(dataset, Tensors.from_arrays(dataset.images, dataset.labels))


@functools.lru_cache(maxsize=4)
def study_data(spec: OriginalSpec) -> StudyData:
    """:func:`load_study_data`, once per process (a Dask worker computes many rows of one dataset)."""
    return load_study_data(spec)


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
        until = fit_target_for(spec.profile)
        history = fit(model, data.tensors.subset(data.split("train")), spec.recipe, seed=spec.seed, progress=progress,
                      desc="original", until=until)
        if history.missed_target:
            warnings.warn(f"{spec.label()} trained {history.extra_epochs} epochs past its schedule (the cap) and still misses "
                          f"the training accuracy target {until.train_acc}: lengthen its recipe (epochs or min_steps)",
                          FitTargetMissed, stacklevel=2)
        info = {"loss": history.loss, "accuracy": history.accuracy, "correct": history.correct, "seconds": history.seconds,
                "extra_epochs": history.extra_epochs}
        store.save("original", spec, model, **info)
    return model, info


def fit_target_for(profile_name: str) -> FitTarget | None:
    """The rule that trains an original on until it fits (issue 32): the profile's memorization
    target's training accuracy; None where the profile checks none (smoke)."""
    target = memorization_target_for(profile_name) or {}
    return FitTarget(train_acc=target["train_acc"]) if "train_acc" in target else None


def original_extra_epochs(spec: OriginalSpec, store: ModelStore) -> int:
    """Epochs the (cached) original trained past its schedule to fit; its retrains train as many."""
    info = store.metadata("original", spec)
    if info is None:
        raise FileNotFoundError(f"{spec.label()} is not in the model cache ({store.path('original', spec)}); train it first "
                                "(original_model)")
    return int(info.get("extra_epochs", 0))


# ----------------------------------------------------------------------------- per-original rows


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
        **stamp(config_key(spec), spec.profile, spec.code_version()),
        "dataset": spec.dataset, "model": spec.model, "image_size": spec.image_size, "seed": spec.seed, "init_seed": spec.seed,
        "recipe": json.dumps(plain(spec.recipe)), "n_train": len(train),
        "train_acc": on["train"].accuracy, "val_acc": on["val"].accuracy, "test_acc": on["test"].accuracy,
        "test_bacc": balanced_accuracy(on["test"].labels, on["test"].preds), "test_auc": macro_auc(on["test"].labels, on["test"].probs),
        "membership_auc": membership_auc(on["train"].losses, on["test"].losses),
        "dead_weight_share": dead_weight_share(model, train.x, train.y),
        **by_sex,
        "train_seconds": float(info["seconds"]),
        "extra_epochs": int(info.get("extra_epochs", 0)),
        "epoch_loss": json.dumps([round(float(v), 6) for v in info["loss"]]),
        "epoch_accuracy": json.dumps([round(float(v), 6) for v in info["accuracy"]]),
    }


def original_summary(spec: OriginalSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
                     ledger: Ledger | None = None) -> dict:
    """The ledger row of an original model (trained and measured when missing), checked
    against the memorization target (:func:`check_memorization` warns when it is missed)."""
    ledger = ledger or Ledger()
    rows = ledger.fetch_or_compute(spec.kind, config_key(spec), spec.code_version(),
                                   lambda: _original_row(spec, data or load_study_data(spec), models or ModelStore()),
                                   describe=spec.label())
    row = rows.iloc[0].to_dict()
    check_memorization(row, memorization_target_for(spec.profile))
    return row


class MemorizationWarning(UserWarning):
    """An original that does not memorize its training set: there is little to forget, and
    every unlearning result on it says little."""


def memorization_shortfalls(row: dict, target: dict[str, float] | None) -> list[str]:
    """What an original's ledger row misses of ``target`` ({metric: floor}), in words; [] when met."""
    # 4 decimals: a miss by 0.0004 (0.9696 against 0.97) must not print as "0.970 < 0.97"
    return [f"{name} {float(row[name]):.4f} < {floor}" for name, floor in (target or {}).items() if not float(row[name]) >= floor]


def check_memorization(row: dict, target: dict[str, float] | None) -> list[str]:
    """Warn loudly (a :class:`MemorizationWarning`, shown on the command line and in the
    executed notebook) when an original misses its profile's memorization target."""
    missed = memorization_shortfalls(row, target)
    if missed:
        warnings.warn(f"the original {row['dataset']} seed {row['seed']} misses the memorization target: {'; '.join(missed)}. "
                      "It does not memorize its training set, so there is little to forget: lengthen its recipe "
                      "(epochs, or the floor min_steps for a small training set)", MemorizationWarning, stacklevel=2)
    return missed


@contextmanager
def memorization_misses_printed():
    """Within the block, a missed memorization target is printed as one plain line rather than
    shown as a warning: an executed notebook then says it without a file path or a warning box
    (and states it again in its findings); other warnings pass through unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MemorizationWarning)
        yield
    for item in caught:
        if issubclass(item.category, MemorizationWarning):
            print(f"Memorization target missed: {item.message}")
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _sample_rows(spec: OriginalSpec, data: StudyData, models: ModelStore) -> pd.DataFrame:
    model, info = original_model(spec, data, store=models, progress=False)
    train = data.split("train")
    scores = difficulty_scores(evaluate(model, data.tensors.subset(train)).losses, info["correct"])
    provenance = stamp(config_key(spec), spec.profile, spec.code_version())
    return pd.DataFrame({**provenance, "dataset": spec.dataset, "seed": spec.seed, "sample": np.arange(len(train)), "index": train,
                         "loss": scores["loss"].to_numpy(), "learning_speed": scores["learning_speed"].to_numpy()})


def memorization_spec(spec: OriginalSpec, n_models: int) -> dict:
    # A property of the data and the recipe, not of one original: one estimate per dataset. The
    # definition is part of the key, so rows computed under another one are recomputed.
    return {"memorization": dataclasses.replace(spec, seed=0), "n_models": n_models, "definition": MEMORIZATION_DEFINITION}


def _memorization_rows(spec: OriginalSpec, n_models: int, data: StudyData) -> pd.DataFrame:
    train = data.split("train")
    result = memorization_scores(data.tensors.subset(train), make_model=model_factory(spec, data.dataset), recipe=spec.recipe,
                                 n_models=n_models, seed=spec.seed)
    provenance = stamp(config_key(memorization_spec(spec, n_models)), spec.profile, spec.code_version())
    return pd.DataFrame({**provenance, "dataset": spec.dataset, "n_models": n_models, "sample": np.arange(len(train)), "index": train,
                         "memorization": result.memorization, "memorization_prob": result.memorization_prob, "seconds": result.seconds})


def sample_score_rows(spec: OriginalSpec, *, data: Callable[[], StudyData], models: ModelStore, ledger: Ledger) -> pd.DataFrame:
    """The ``sample_scores`` rows of one original (computed and appended when missing); ``data``
    is called only then. Apart from :func:`difficulty_table` so that a Dask task
    (``unlearnlib.execution.distributed``) can compute them without the memorization estimate."""
    return ledger.fetch_or_compute("sample_scores", config_key(spec), spec.code_version(),
                                   lambda: _sample_rows(spec, data(), models), describe=f"per-sample scores of {spec.dataset} seed {spec.seed}")


def memorization_rows(spec: OriginalSpec, memorization_models: int, *, data: Callable[[], StudyData], ledger: Ledger) -> pd.DataFrame:
    """The ``memorization`` rows of ``spec``'s dataset and recipe (one estimate for every seed;
    computed and appended when missing, ``data`` called only then)."""
    memo_spec = memorization_spec(spec, memorization_models)
    return ledger.fetch_or_compute("memorization", config_key(memo_spec), spec.code_version(),
                                   lambda: _memorization_rows(memo_spec["memorization"], memorization_models, data()),
                                   describe=f"memorization of {spec.dataset} ({memorization_models} models)")


def difficulty_table(spec: OriginalSpec, *, memorization_models: int, data: StudyData | None = None,
                     models: ModelStore | None = None, ledger: Ledger | None = None) -> pd.DataFrame:
    """One row per training sample (training-split order): the original's final ``loss``
    and ``learning_speed``, and the data's memorization estimate: ``memorization`` (Feldman &
    Zhang's, from accuracy: mean correct when trained with the sample minus when without) and
    ``memorization_prob`` (the same gap in the true-class probability).

    Whatever the ledger lacks is computed and appended: the original (trained when not cached)
    and, for the memorization estimate, ``memorization_models`` models on halves of the data."""
    ledger, models = ledger or Ledger(), models or ModelStore()
    lazy = _Lazy(lambda: data or load_study_data(spec))
    scores = sample_score_rows(spec, data=lazy, models=models, ledger=ledger)
    memo = memorization_rows(spec, memorization_models, data=lazy, ledger=ledger)
    table = scores.sort_values("sample")[["sample", "index", "loss", "learning_speed"]].reset_index(drop=True)
    memo = memo.sort_values("sample")
    table["memorization"] = memo["memorization"].to_numpy()
    table["memorization_prob"] = memo["memorization_prob"].to_numpy()
    return table


class _Lazy:
    """Compute once, on first call (a dataset load only when something is missing)."""

    def __init__(self, make):
        self._make, self._value = make, None

    def __call__(self):
        if self._value is None:
            self._value = self._make()
        return self._value
