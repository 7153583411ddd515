"""Which ledger rows the training rules of issue 32 change, so that only those are recomputed.

Two rules changed how models train, and neither changes a spec or a code version (both live in
``training_rules.py`` and ``training.py``, which no method digest covers):

- **no short batches** (:func:`training.batch_order`): a last batch under a fifth of the batch
  size joins the one before it. A row changes only if one of its training loops cut such a batch;
- **an original that fits** (:class:`training.FitTarget`): an original whose scheduled training
  misses the memorization target trains on until it fits; its retrains train as many epochs.
  A row changes only if it rests on such an original.

Every row computed since carries ``TRAINING_RULES`` in its ``training_rules`` column
(:func:`provenance.stamp`). A committed row without it that either rule would change is stale:
:func:`stale_keys` names those rows (``python -m unlearnlib ledger restale``, once), the plan then
finds them missing and recomputes them, and ``tests/test_training_rules.py`` checks that no such
row is left. The loops each method ran are listed here, as the code that made the committed rows
had them (rows computed since carry ``training_rules`` and are never audited): a method missing
from :data:`METHOD_LOOPS` fails loudly.
"""
from __future__ import annotations

import json

import pandas as pd

from ..kinds.registry import kinds
from ..training_rules import TRAINING_RULES, has_short_batch

# The sets each method's own training loops pass over, and the hyper-parameter that sets the
# batch size of each (None: the original's recipe, batch 128). ``union``: retain + forget;
# ``mixed``: Bad Teacher's retain share + forget. Methods not listed train in no loop of batches
# (Fisher, SSD: eval-mode passes; the original: nothing).
METHOD_LOOPS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "retrain": (("retain", None),),
    "finetune": (("retain", None),),
    "gradient_ascent": (("forget", "batch_size"),),
    "random_label": (("union", "batch_size"),),
    "salun": (("union", "batch_size"),),
    "l1_sparse": (("retain", "batch_size"),),
    "neggrad_plus": (("retain", "batch_size"), ("forget", "batch_size")),
    "scrub": (("retain", "batch_size"), ("forget", "forget_batch_size")),
    "bad_teacher": (("mixed", "batch_size"),),
    "boundary_shrink": (("forget", "batch_size"),),
    "fisher": (),
    "ssd": (),
    "original": (),
}


def _set_size(name: str, n_train: int, forget: int, params: dict) -> int:
    retain = n_train - forget
    sizes = {"retain": retain, "forget": forget, "union": n_train,
             "mixed": max(1, round(float(params.get("retain_share", 0.3)) * retain)) + forget}
    return sizes[name]


def method_cuts_short_batch(method: str, params: dict, *, n_train: int, forget: int, recipe_batch: int) -> bool:
    """Whether ``method`` run with ``params`` (its full hyper-parameters) on a forget set of
    ``forget`` images cut a short last batch in one of its loops."""
    if method not in METHOD_LOOPS:
        raise KeyError(f"method {method!r} has no entry in ledger_audit.METHOD_LOOPS; add the loops it trains in")
    return any(has_short_batch(_set_size(name, n_train, forget, params), int(params.get(field, recipe_batch)) if field else recipe_batch)
               for name, field in METHOD_LOOPS[method])


def _experiment_touched(method: str, params: dict, *, n_train: int, forget: int, recipe_batch: int) -> bool:
    """The method's loops, or the retrain every row is compared with."""
    return (method_cuts_short_batch("retrain", {}, n_train=n_train, forget=forget, recipe_batch=recipe_batch)
            or method_cuts_short_batch(method, params, n_train=n_train, forget=forget, recipe_batch=recipe_batch))


def _defaults(method: str) -> dict:
    from ..algorithms import get_method

    return get_method(method).hyperparameters().as_dict()


def _spec(row) -> dict:
    return json.loads(row["spec"])


def _experiment_of(spec: dict) -> dict:
    return spec["experiment"] if "experiment" in spec else spec


def _rests_on(spec: dict, extended: set[tuple[str, int]]) -> bool:
    original = _experiment_of(spec)["original"]
    return (original["dataset"], int(original["seed"])) in extended


def stale_keys(ledger, *, extended: set[tuple[str, int]] | None = None) -> dict[str, list[str]]:
    """Per ledger kind, the keys of rows computed before the rules (no ``training_rules``) that
    either rule changes. ``extended``: the (dataset, seed) of originals that miss the
    memorization target (default: read from the ledger's originals rows)."""
    from ..profiles import memorization_target_for

    originals = ledger.table("originals")
    n_train = {str(r.dataset): int(r.n_train) for r in originals.itertuples()}
    if extended is None:
        extended = set()
        for row in originals.to_dict("records"):
            target = memorization_target_for(str(row["profile"])) or {}
            if "train_acc" in target and float(row["train_acc"]) < target["train_acc"] and not _current(row):
                extended.add((str(row["dataset"]), int(row["seed"])))
    stale: dict[str, list[str]] = {}
    # Each kind declares the rule its rows made before the training rules are audited by (``RowKind.audit``).
    for table_name, rule in {k.ledger: RULES[k.audit] for k in kinds() if k.audit is not None}.items():
        table = ledger.table(table_name)
        if table.empty:
            continue
        old = table[[not _current(r) for r in table.to_dict("records")]].drop_duplicates("key")
        keys = [str(r["key"]) for r in old.to_dict("records") if rule(r, n_train, extended)]
        if keys:
            stale[table_name] = keys
    return stale


def _current(row: dict) -> bool:
    value = row.get("training_rules")
    return isinstance(value, str) and value == TRAINING_RULES


def _halves(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]]) -> bool:
    """Models on complementary halves of the training split (memorization)."""
    n = n_train[str(row["dataset"])]
    return has_short_batch(n // 2, 128) or has_short_batch(n - n // 2, 128)


def _training_split(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]]) -> bool:
    """An original's training (originals, per-sample scores). Both datasets' training splits end in a
    long enough batch (7,009 = 54 x 128 + 97; 546 = 4 x 128 + 34)."""
    return (str(row["dataset"]), int(row["seed"])) in extended or has_short_batch(n_train[str(row["dataset"])], 128)


def _method_loops(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]], trials: list[dict]) -> bool | None:
    """True: the row rests on an extended original or one of its method's loops (at each of
    ``trials``' settings) cut a short batch; else None."""
    spec = _spec(row)
    if _rests_on(spec, extended):
        return True
    experiment = _experiment_of(spec)
    dataset, method = experiment["original"]["dataset"], experiment["method"]
    sizes = dict(n_train=n_train[dataset], forget=int(row["forget_size"]), recipe_batch=int(experiment["original"]["recipe"]["batch_size"]))
    params = {**_defaults(method), **dict(experiment["hyperparameters"])}
    return any(_experiment_touched(method, {**params, **t["params"]}, **sizes) for t in trials) or None


def _experiment(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]]) -> bool:
    """An experiment's method (experiments, forgetting quality)."""
    return bool(_method_loops(row, n_train, extended, [{"params": {}}]))


def _tuning(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]]) -> bool:
    """A tuning run: its method at the default settings and at every trial's."""
    trials = json.loads(row["trials"]) if isinstance(row.get("trials"), str) else []
    return bool(_method_loops(row, n_train, extended, [{"params": {}}, *trials]))


def _relearning(row: dict, n_train: dict[str, int], extended: set[tuple[str, int]]) -> bool:
    """The attacked experiment's method, then the attack's own fine-tuning on its subset."""
    return _experiment(row, n_train, extended) or has_short_batch(int(row["subset_size"]), int(_spec(row)["budget"]["batch_size"]))


# The audit rules a kind names in ``RowKind.audit``: does one of the loops that made a row cut a short batch?
RULES = {"halves": _halves, "training split": _training_split, "experiment": _experiment, "tuning": _tuning, "relearning": _relearning}


def restale(ledger) -> dict[str, int]:
    """Drop the rows :func:`stale_keys` names (the plan then recomputes them); per kind, how many."""
    dropped = {}
    for kind, keys in stale_keys(ledger).items():
        wanted = set(keys)
        dropped[kind] = ledger.drop(kind, lambda table: table["key"].astype(str).isin(wanted))
    return dropped


def summary(stale: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"kind": kind, "rows": len(keys)} for kind, keys in stale.items()])


# A retrain that fits its retain set this far below its dataset's other retrains is no gold
# standard (issue 32: the 350-image requests' retrains fit 0.82-0.88 against 0.95-0.98).
RETRAIN_FIT_TOLERANCE = 0.05


def retrain_fit_outliers(experiments: pd.DataFrame, tolerance: float = RETRAIN_FIT_TOLERANCE) -> pd.DataFrame:
    """The retrain rows whose ``retain_acc`` lies more than ``tolerance`` below the median
    retrain of their dataset at the other forget sizes (the signal check every reference must
    pass); empty when every retrain fits like the others."""
    retrains = experiments[experiments["method"] == "retrain"]
    outliers = []
    for _, rows in retrains.groupby("dataset"):
        for size, at_size in rows.groupby("forget_size"):
            others = rows.loc[rows["forget_size"] != size, "retain_acc"]
            if len(others):
                outliers.append(at_size[at_size["retain_acc"] < others.median() - tolerance])
    columns = ["dataset", "scenario", "forget_size", "seed", "retain_acc"]
    return pd.concat(outliers)[columns] if outliers else pd.DataFrame(columns=columns)
