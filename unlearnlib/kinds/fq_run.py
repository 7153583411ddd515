"""The forgetting-quality run: N unlearned and 2N retrained models -> one ledger row.

:func:`run_forgetting_quality` trains (or reads from the model cache) the models a
:class:`~unlearnlib.kinds.specs.ForgettingQualitySpec` names, scores them with the challenge's
forgetting quality (:mod:`unlearnlib.evaluation.fq`) and its relative form with an interval
(:mod:`unlearnlib.evaluation.fq_interval`), and appends the row to the ledger.
"""
from __future__ import annotations

import json

import numpy as np

from ..algorithms import UnlearningTask
from ..evaluation.attacks import logit_scaled_confidence
from ..evaluation.fq import MIN_FQ_MODELS, accuracy_ratio, forget_score, forgetting_quality
from ..evaluation.fq_interval import relative_forgetting_quality
from .originals import StudyData
from ..provenance import plain
from .runner import ResultStore, prepare, unlearned_model
from ..scenarios import ForgetSplit
from .specs import ExperimentSpec, ForgettingQualitySpec, retrain_seed
from ..results.store import ModelStore
from ..training import evaluate


def _statistics(method_spec: ExperimentSpec, seeds, task: UnlearningTask, split: ForgetSplit, data: StudyData,
                models: ModelStore) -> dict[str, np.ndarray | float]:
    """Per model of ``seeds``: the forget set's logit-scaled confidences, retain and test accuracy; and the total time."""
    stats, retain_accs, test_accs, seconds = [], [], [], 0.0
    test_set = data.tensors.subset(data.split("test"))
    for seed in seeds:
        model, took = unlearned_model(method_spec, task, split, models, False, seed=seed)
        forget = evaluate(model, task.forget)
        stats.append(logit_scaled_confidence(forget.logits, forget.labels))
        retain_accs.append(evaluate(model, task.retain).accuracy)
        test_accs.append(evaluate(model, test_set).accuracy)
        seconds += took
    return {"stats": np.stack(stats), "retain": np.array(retain_accs), "test": np.array(test_accs), "seconds": seconds}


def retrained_seeds(spec: ForgettingQualitySpec) -> list[int]:
    """Initialisation seeds of the run's 2N retrained models: N compared with the method, then N
    independent ones as the reference (cached per forget set and seed, so shared by every method's run)."""
    return [retrain_seed(spec.experiment.seed, i) for i in range(2 * spec.n_models)]


def run_forgetting_quality(
    spec: ForgettingQualitySpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """Ledger row: forget score F, forgetting quality F x accuracy ratios, the ratios, and
    the score relative to independent retrains with a 95 % interval over models (half-sample jackknife)."""
    if spec.n_models < MIN_FQ_MODELS:  # checked before any model is trained
        raise ValueError(f"forgetting quality needs at least {MIN_FQ_MODELS} models per side (its interval halves each set); got {spec.n_models}")
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = prepare(experiment, data, models_, ledger=results.ledger)
        n, seed = spec.n_models, experiment.seed
        retrain_spec, retrain_seeds = experiment.retrain_spec(), retrained_seeds(spec)
        retrained = _statistics(retrain_spec, retrain_seeds[:n], task, split, data_, models_)
        reference = _statistics(retrain_spec, retrain_seeds[n:], task, split, data_, models_)
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
            # the 2N retrains' training time as recorded (a cached model carries its own), for the study's cost by kind
            "retrain_seconds": retrained["seconds"] + reference["seconds"],
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)
