"""Hyper-parameter search for unlearning methods, with its cost counted.

Each method declares a search space; Optuna's seeded TPE sampler searches it on the
validation split under one of two objectives:

- ``retrain`` (the paper's setting, needs the retrained model): the mean absolute gap to
  the retrained model over retain, forget and validation accuracy and MIA-efficacy.
- ``retrain_free`` (usable in practice): forget accuracy and MIA-efficacy should look like
  they do on held-out data, and validation accuracy should not fall below the original's:
  |acc(forget) - acc(held-out)| + |MIA(forget) - MIA(held-out)| + max(0, acc_val(original) - acc_val).
  The validation split is halved: one half trains the attack (non-members), the other is
  the held-out probe.

Damage is never a credit: the original is weak (on HAM10000 its test accuracy is 0.714
against a majority-class rate of 0.669), so a model that answers the largest class
everywhere has a small gap to the retrained model. A trial whose model fails on the
validation split by the study's rule (:func:`unlearnlib.evaluation.failures.fails`) is therefore ranked
below the untouched original and below every trial that does not fail (see
:func:`assess`); its status names the floor it fell through.

Every trial's wall time (unlearning plus scoring) is recorded; the cost of tuning is their
sum, reported as a multiple of one retraining. :func:`run_tuning` runs the search of a
:class:`~unlearnlib.kinds.specs.TuningSpec` and appends its row (best parameters, every trial, the
cost) to the ledger; :func:`tuned_hyperparameters` reads the best parameters back.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import optuna
from torch import nn

from ..algorithms import DivergedError, UnlearningTask, get_method, unlearn
from ..evaluation.attacks import mia_efficacy
from ..evaluation.failures import BACC_DROP, MAJORITY_MARGIN, fails
from ..evaluation.metrics import balanced_accuracy
from .originals import StudyData
from ..provenance import plain
from .runner import ResultStore, prepare, unlearned_model
from .specs import TuningSpec
from ..results.store import ModelStore
from ..training import Tensors, evaluate

OBJECTIVES = ("retrain", "retrain_free")
# The largest value either objective can reach: "retrain" averages terms of at most 1,
# "retrain_free" sums three of them.
OBJECTIVE_BOUND = 3.0
# Added to a failing trial's value (itself at least the original's): larger than
# OBJECTIVE_BOUND, so a failing trial ranks below every trial that does not fail, not only
# below those that beat the original (the issue suggested 1.0, which guarantees only the latter).
FAILED_PENALTY = OBJECTIVE_BOUND + 1.0
DIVERGED_VALUE = OBJECTIVE_BOUND + FAILED_PENALTY + 1.0  # above every failing value (at most OBJECTIVE_BOUND + FAILED_PENALTY)


@dataclass(frozen=True)
class TuningResult:
    method: str
    objective: str
    best_params: dict
    best_value: float
    trials: list[dict]  # number, params, value, gap (the value before any failure penalty; None if diverged), status, seconds
    original_value: float = float("nan")  # the untouched original's value: a best value above it means tuning did not help

    @property
    def total_seconds(self) -> float:
        return float(sum(t["seconds"] for t in self.trials))


def suggest(trial: optuna.Trial, space: dict[str, tuple]) -> dict:
    """Draw one value per declared hyper-parameter."""
    params = {}
    for name, (kind, *bounds) in space.items():
        if kind == "float":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1])
        elif kind == "logfloat":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1], log=True)
        elif kind == "int":
            params[name] = trial.suggest_int(name, bounds[0], bounds[1])
        elif kind == "choice":
            params[name] = trial.suggest_categorical(name, bounds[0])
        else:
            raise ValueError(f"unknown search-space kind {kind!r} for {name}; use float, logfloat, int or choice")
    return params


def _halves(val: Tensors, seed: int) -> tuple[Tensors, Tensors]:
    order = np.random.default_rng(seed).permutation(len(val))
    middle = len(order) // 2
    return val.subset(np.sort(order[:middle])), val.subset(np.sort(order[middle:]))


def majority_class_rate(labels) -> float:
    """The accuracy of always answering the largest class of ``labels`` (a collapsed model's accuracy)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("no labels: the majority-class rate of an empty split is undefined")
    return float(np.unique(labels, return_counts=True)[1].max() / labels.size)


def validation_scores(model: nn.Module, task: UnlearningTask, *, seed: int) -> dict[str, float]:
    """Accuracies and MIA-efficacies on the data tuning may look at (no test data), and the
    validation balanced accuracy, which the failure rule needs."""
    attack_half, probe_half = _halves(task.val, seed)
    retain, forget, attack, probe = (evaluate(model, d) for d in (task.retain, task.forget, attack_half, probe_half))

    def mia(target):
        return mia_efficacy(retain.logits, retain.labels, attack.logits, attack.labels, target.logits, target.labels, seed=seed)

    return {
        "retain_acc": retain.accuracy,
        "forget_acc": forget.accuracy,
        "val_acc": (attack.accuracy * len(attack.labels) + probe.accuracy * len(probe.labels)) / len(task.val),
        "val_bacc": balanced_accuracy(np.concatenate([attack.labels, probe.labels]), np.concatenate([attack.preds, probe.preds])),
        "heldout_acc": probe.accuracy,
        "mia_forget": mia(forget),
        "mia_heldout": mia(probe),
    }


def gap(objective: str, scores: dict, *, retrained: dict | None, original: dict) -> float:
    """The objective as the module docstring defines it, blind to damage (see :func:`assess`)."""
    if objective == "retrain":
        if retrained is None:
            raise ValueError("the 'retrain' objective needs the retrained model's validation scores")
        keys = ("retain_acc", "forget_acc", "val_acc", "mia_forget")
        return float(np.mean([abs(scores[k] - retrained[k]) for k in keys]))
    if objective == "retrain_free":
        return float(
            abs(scores["forget_acc"] - scores["heldout_acc"])
            + abs(scores["mia_forget"] - scores["mia_heldout"])
            + max(0.0, original["val_acc"] - scores["val_acc"])
        )
    raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")


def failed_floor(scores: dict, *, reference_bacc: float, majority_rate: float) -> str | None:
    """Which floor of the study's failure rule the validation ``scores`` fall through, or None.

    The rule is :func:`unlearnlib.evaluation.failures.fails` on the validation split; this only names the floor."""
    acc, bacc = scores["val_acc"], scores["val_bacc"]
    if not fails(acc=acc, bacc=bacc, majority_rate=majority_rate, reference_bacc=reference_bacc):
        return None
    if acc <= majority_rate + MAJORITY_MARGIN:
        return (f"validation accuracy {acc:.3f} is at most {MAJORITY_MARGIN} above the majority-class rate "
                f"{majority_rate:.3f}")
    return f"validation balanced accuracy {bacc:.3f} is more than {BACC_DROP} below the reference's {reference_bacc:.3f}"


def assess(objective: str, scores: dict, *, retrained: dict | None, original: dict, majority_rate: float) -> tuple[float, str]:
    """A trial's value (lower is better) and status: ``"ok"``, or ``"failed: <floor>"``.

    A trial whose model fails on the validation split by the study's rule gets
    ``max(gap, gap of the original) + FAILED_PENALTY``: it ranks below the untouched original
    and below every trial that does not fail, however small its gap. The rule's reference
    balanced accuracy is the retrained model's (``retrain``); ``retrain_free`` has no retrained
    model, so there the reference is the original's validation balanced accuracy (a trial
    fails if it gives up the minority classes the original classifies)."""
    if not 0.0 < majority_rate <= 1.0:
        raise ValueError(f"majority_rate must lie in (0, 1]; got {majority_rate}")
    value = gap(objective, scores, retrained=retrained, original=original)
    reference = retrained if objective == "retrain" else original
    floor = failed_floor(scores, reference_bacc=reference["val_bacc"], majority_rate=majority_rate)
    if floor is None:
        return value, "ok"
    baseline = gap(objective, original, retrained=retrained, original=original)
    return max(value, baseline) + FAILED_PENALTY, f"failed: {floor}"


def objective_value(objective: str, scores: dict, *, retrained: dict | None, original: dict, majority_rate: float) -> float:
    """The value tuning minimises: the gap, or a failing trial's penalised value (see :func:`assess`)."""
    return assess(objective, scores, retrained=retrained, original=original, majority_rate=majority_rate)[0]


@dataclass(frozen=True)
class TrialScorer:
    """Scores one setting of a method on the validation split exactly as a tuning trial does:
    (value, gap before any failure penalty or None if diverged, status). Reused by
    ``benchmarks/warm_start.py`` to score a setting outside a search."""

    method: str
    task: UnlearningTask
    objective: str
    seed: int
    original_scores: dict
    retrained_scores: dict | None
    majority_rate: float

    @classmethod
    def build(cls, method: str, task: UnlearningTask, *, objective: str, seed: int, retrained: nn.Module | None = None) -> "TrialScorer":
        return cls(method, task, objective, seed, validation_scores(task.original, task, seed=seed),
                   validation_scores(retrained, task, seed=seed) if retrained is not None else None,
                   majority_class_rate(task.val.y.numpy()))

    @property
    def original_value(self) -> float:
        return gap(self.objective, self.original_scores, retrained=self.retrained_scores, original=self.original_scores)

    def __call__(self, params: dict) -> tuple[float, float | None, str]:
        try:
            model = unlearn(self.method, self.task, get_method(self.method).hyperparameters(**params), seed=self.seed).model
            scores = validation_scores(model, self.task, seed=self.seed)
            raw = gap(self.objective, scores, retrained=self.retrained_scores, original=self.original_scores)
            value, status = assess(self.objective, scores, retrained=self.retrained_scores, original=self.original_scores,
                                   majority_rate=self.majority_rate)
        except DivergedError as error:  # reported with the trial, and the worst value the objective can take
            raw, value, status = None, DIVERGED_VALUE, f"diverged: {error}"
        return value, raw, status


def tune(
    method: str,
    task: UnlearningTask,
    *,
    objective: str,
    n_trials: int,
    seed: int,
    retrained: nn.Module | None = None,
) -> TuningResult:
    """Search ``method``'s declared space for ``n_trials`` trials; lower objective is better."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1; got {n_trials}")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")
    spec = get_method(method)
    if not spec.hyperparameters.search_space:
        raise ValueError(f"{method} declares no search space: nothing to tune")
    score = TrialScorer.build(method, task, objective=objective, seed=seed, retrained=retrained)
    trials: list[dict] = []

    def run_trial(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        params = suggest(trial, spec.hyperparameters.search_space)
        value, raw, status = score(params)
        trials.append({"number": trial.number, "params": params, "value": value, "gap": raw, "status": status,
                       "seconds": time.perf_counter() - start})
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(run_trial, n_trials=n_trials)
    return TuningResult(method, objective, study.best_params, float(study.best_value), trials, score.original_value)


# ----------------------------------------------------------------------------- tuning runs


def run_tuning(
    spec: TuningSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """The ledger row of one tuning run: best parameters, every trial, how many diverged or failed
    (the study's rule, on the validation split), the original's value, and the cost in retrains."""
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = prepare(experiment, data, models_, ledger=results.ledger)
        retrained, retrain_seconds = unlearned_model(experiment.retrain_spec(), task, split, models_, progress=False)
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
            "original_value": result.original_value,
            "diverged_trials": sum(t["status"].startswith("diverged") for t in result.trials),
            "failed_trials": sum(t["status"].startswith("failed") for t in result.trials),
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
