"""Issue 34's kinds of result in the row-kind registry: U-LiRA (:mod:`unlearnlib.kinds.ulira`) and
offline LiRA (:mod:`unlearnlib.kinds.offline_lira`) rows, and the shared models they read (tasks of
their own, no ledger row, counted under the attack rows as forgetting quality counts its
retrains). Imported at the end of :mod:`unlearnlib.kinds.registry`, so registering is importing it.

Costs, in trainings of one HAM10000 original (:class:`unlearnlib.kinds.cost.Cost`): a U-LiRA row pays
for its method's run on the study's forget set (unlearned models are not cached; ``retrain``:
a retrain of another seed); the first row of a design pays its K shadow originals and K shadow
retrains, the first row of a method its K shadow runs. An offline-LiRA row pays its method's run
(``retrain`` and ``original`` are cached); the first row of a dataset its references.
"""
from __future__ import annotations

from .registry import RowKind, _finite, preparation, register
from .offline_lira import OfflineLiraSpec, ReferenceModel, reference_model, run_offline_lira
from .originals import study_data
from .ulira import ShadowModel, ShadowUnlearning, ULiraSpec, run_ulira, shadow_scores, train_shadow


def _first(charged: set | None, tag) -> bool:
    """Whether ``tag``'s shared cost is still to be counted (then it is marked counted); with no
    ``charged`` set every row counts it (a rate measured per row then includes it)."""
    if charged is None:
        return True
    if tag in charged:
        return False
    charged.add(tag)
    return True


def _run(method: str, dataset: str, cost, retrain_units: float) -> float:
    return retrain_units if method == "retrain" else cost.method(method, dataset)


@register
class ULira(RowKind):
    name, ledger, spec_type, label = "ulira", "ulira", ULiraSpec, "U-LiRA attacks"

    def requires(self, spec):
        return preparation(spec.experiment) + [spec.experiment.retrain_spec(), spec.unlearning]

    def compute(self, spec, *, ledger, models, results):
        run_ulira(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def _units(self, dataset: str, method: str, n_shadows: int, forget_size: int, cost, charged, design: str) -> float:
        n = cost.n_train(dataset)
        retrain = cost.training(dataset, n - forget_size)
        units = _run(method, dataset, cost, retrain)
        if _first(charged, ("ulira_shadows", design)):
            units += n_shadows * (cost.training(dataset, n) + retrain)
        if _first(charged, ("ulira_unlearning", design, method)):
            units += n_shadows * _run(method, dataset, cost, retrain)
        return units

    def cost(self, spec, cost, charged):
        e = spec.experiment
        return self._units(e.original.dataset, e.method, spec.shadows.n_shadows, cost.forget_size(e), cost, charged,
                           spec.shadows.key())

    def row_time(self, r, cost, charged=None):
        seconds = r["method_seconds"]
        probe = set(charged) if charged is not None else None  # which shared parts this row is first to count
        if _first(probe, ("ulira_shadows", r["design"])):
            seconds += r["shadow_train_seconds"]
        if _first(probe, ("ulira_unlearning", r["design"], r["method"])):
            seconds += r["shadow_method_seconds"]
        units = self._units(r["dataset"], r["method"], int(r["n_shadows"]), int(r["forget_size"]), cost, charged, r["design"])
        return _finite((seconds, units))


@register
class OfflineLira(RowKind):
    name, ledger, spec_type, label = "offline_lira", "offline_lira", OfflineLiraSpec, "offline LiRA attacks"

    def requires(self, spec):
        refs = spec.references
        return preparation(spec.experiment) + [spec.experiment.retrain_spec()] + [ReferenceModel(refs, k) for k in range(refs.n_models)]

    def compute(self, spec, *, ledger, models, results):
        run_offline_lira(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def _units(self, dataset: str, method: str, n_models: int, cost, charged, references: str) -> float:
        n = cost.n_train(dataset)
        units = 0.0 if method == "retrain" else cost.method(method, dataset)  # the retrain's row trained its model
        return units + (n_models * cost.training(dataset, n // 2) if _first(charged, ("lira_references", references)) else 0.0)

    def cost(self, spec, cost, charged):
        e = spec.experiment
        return self._units(e.original.dataset, e.method, spec.references.n_models, cost, charged, spec.references.key())

    def row_time(self, r, cost, charged=None):
        probe = set(charged) if charged is not None else None
        seconds = r["method_seconds"] + (r["reference_seconds"] if _first(probe, ("lira_references", r["references"])) else 0.0)
        return _finite((seconds, self._units(r["dataset"], r["method"], int(r["n_references"]), cost, charged, r["references"])))


@register
class ULiraShadowModels(RowKind):
    """Counted under U-LiRA in the plan, computed as tasks of their own (two workers share them)."""

    name, ledger, spec_type, label = "ulira_shadow_models", None, ShadowModel, "U-LiRA shadow models"

    def requires(self, spec):
        return [] if spec.replica == 0 else [ShadowModel(spec.shadows, spec.k)]  # a replica retrains as long as its original did

    def compute(self, spec, *, ledger, models, results):
        train_shadow(spec, data=study_data(spec.shadows.original), store=models)


@register
class ULiraShadowUnlearning(RowKind):
    """Counted under U-LiRA in the plan: every shadow's run of one method, scored (a side file)."""

    name, ledger, spec_type, label = "ulira_shadow_unlearning", None, ShadowUnlearning, "U-LiRA shadow unlearning"

    def requires(self, spec):
        replicas = (0, 1) if spec.method == "retrain" else (0,)
        return [ShadowModel(spec.shadows, k, r) for r in replicas for k in range(spec.shadows.n_shadows)]

    def compute(self, spec, *, ledger, models, results):
        shadow_scores(spec, data=study_data(spec.shadows.original), store=models)


@register
class LiraReferenceModels(RowKind):
    """Counted under offline LiRA in the plan, computed as tasks of their own."""

    name, ledger, spec_type, label = "lira_reference_models", None, ReferenceModel, "offline-LiRA reference models"

    def compute(self, spec, *, ledger, models, results):
        reference_model(spec, data=study_data(spec.references.original), store=models)
