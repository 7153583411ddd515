"""What ``reproduce`` would compute, before it computes (``python -m unlearnlib reproduce --plan``).

For each study notebook, the ledger rows it fetches that the ledger lacks, by kind (originals,
retrains, tuning runs, experiments, forgetting-quality runs, memorization estimates, per-sample
scores, relearning attacks), with an estimated cost in model trainings and in time. Nothing is
computed and no image is loaded: specs come from each notebook's grid, the very function its
cells fetch their rows from (:func:`unlearnlib.execution.notebook_grids.notebook_grid`), for the defaults
of its parameters cell or the parameters passed (``reproduce -p``), with tuned settings read
from the ledger and split sizes from :data:`TRAIN_SPLIT_SIZES`; presence is
``spec in ResultStore()`` (a row of the current code version).

What cannot be known before tuning: an experiment at tuned settings has a ledger key that
depends on the settings its tuning run will choose. While that tuning row is missing, the
experiment (and the forgetting-quality run or relearning attack on it) counts as pending,
with a placeholder spec, and the plan says how many such rows there are.

Cost, in trainings of one HAM10000 original of the profile, is each kind's own
(:meth:`unlearnlib.kinds.registry.RowKind.cost`, the model in :mod:`unlearnlib.kinds.cost`). Time: the seconds
the ledger records for rows of that kind and profile divided by their cost, where there are such
rows; else :data:`DEFAULT_SECONDS_PER_TRAINING`. A row two notebooks share is listed under the
first that fetches it (the notebooks run in order).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..kinds.cost import METHOD_RUN_FRACTION, METHOD_RUN_FRACTIONS, TRAIN_SPLIT_SIZES, Cost as _Cost, train_size  # noqa: F401 (names of this module)
from ..kinds.registry import MemorizationNeed, SampleScoresNeed, experiment_of, kind_named, kind_of, kinds, preparation
from ..results.ledger import KINDS as LEDGER_KINDS, Ledger
from .notebook_grids import GRIDS, Lookup, Scores, notebook_grid
from ..paths import notebook_paths
from ..profiles import Profile, activate_compute_path, get_profile
from ..provenance import compute_path_tag, config_key
from ..kinds.runner import ResultStore
from ..kinds.specs import TuningSpec
from ..kinds.tuning import tuned_hyperparameters

# The kinds of rows a plan lists, in the order reproduce needs them (the registry's: unlearnlib.kinds.registry).
KINDS = tuple(kind.name for kind in kinds())
KIND_LABELS = {kind.name: kind.label for kind in kinds()}
# Seconds per training of one HAM10000 original, where the ledger has no row to measure it by:
# smoke ~1 s measured (300 images, 2 epochs); cpu ~160 s on 2 cores (profiles.py, benchmarks/choose_original.py);
# gpu: a guess (no gpu row measured yet), ResNet-18 at 64 px, 50 epochs on one GPU.
DEFAULT_SECONDS_PER_TRAINING = {"smoke": 2.0, "cpu": 160.0, "gpu": 120.0}
UNKNOWN_SETTINGS = "tuned_by"  # the placeholder hyper-parameter of an experiment whose tuning is pending


# ----------------------------------------------------------------------------- what a notebook fetches


def _kind(spec) -> str:
    return kind_of(spec).name


_experiment = experiment_of


def known(spec) -> bool:
    """False for a placeholder: an experiment (or a run on one) at settings not tuned yet."""
    experiment = _experiment(spec)
    return experiment is None or UNKNOWN_SETTINGS not in dict(experiment.hyperparameters)


def requirements(spec) -> list:
    """What fetching ``spec`` fetches first: its original's row (``runner.prepare``), and for a
    scenario that ranks by per-sample scores, those and the memorization estimate; a difficulty
    table (:class:`~unlearnlib.execution.notebook_grids.Scores`) is the per-sample scores and the estimate."""
    if isinstance(spec, Scores):
        return [SampleScoresNeed(spec.original), MemorizationNeed(spec.original, spec.n_models)]
    experiment = _experiment(spec)
    return preparation(experiment) if experiment is not None else []


def _with_requirements(specs) -> list:
    out = []
    for spec in specs:
        out += requirements(spec)
        if not isinstance(spec, Scores):
            out.append(spec)
    return out


def ledger_lookup(results: ResultStore) -> Lookup:
    """A grid's lookup that computes nothing: a tuning run's settings where the ledger has its row,
    else a placeholder naming that run (:data:`UNKNOWN_SETTINGS`); split sizes from :func:`train_size`."""
    def tuned(spec: TuningSpec) -> dict[str, Any]:
        row = results.load(spec)
        return tuned_hyperparameters(row) if row is not None else {UNKNOWN_SETTINGS: config_key(spec)}

    return Lookup(tuned=tuned, train_size=train_size)


# Each notebook's grid (unlearnlib.execution.notebook_grids), the one its cells fetch from.
NOTEBOOKS = GRIDS  # 00_data reads the data only


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The defaults of a notebook's ``parameters`` cell (literal assignments only: nothing is executed)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ValueError(f"{path} has no cell tagged 'parameters'")
    values = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def notebook_specs(name: str, profile: Profile, results: ResultStore, parameters: dict | None = None) -> list:
    """Every spec notebook ``name`` fetches at ``profile`` for ``parameters`` (default: its parameters
    cell), from its grid (:func:`unlearnlib.execution.notebook_grids.notebook_grid`) with what fetching each
    fetches first (:func:`requirements`), placeholders where tuning is pending, in fetch order."""
    if name not in NOTEBOOKS:
        raise ValueError(f"no plan for notebook {name!r}; known: {', '.join(NOTEBOOKS)}")
    if parameters is None:
        parameters = notebook_parameters(next(p for p in notebook_paths([name]) if p.stem == name))
    grid = notebook_grid(name, profile, lookup=ledger_lookup(results), **{k: v for k, v in parameters.items() if k != "profile"})
    return _with_requirements(grid.specs)


# ----------------------------------------------------------------------------- cost (each kind declares its own: unlearnlib.kinds.registry)


@dataclass(frozen=True)
class Rate:
    """Seconds per training (of one HAM10000 original) for one kind of row, and where it comes from."""

    seconds_per_training: float
    source: str


def _row_time(kind: str, r: dict, cost: _Cost, charged: set | None = None) -> tuple[float, float] | None:
    """(seconds the ledger row ``r`` of ``kind`` records, its cost in trainings), or None when it
    records no time (:meth:`unlearnlib.kinds.registry.RowKind.row_time`)."""
    try:
        return kind_named(kind).row_time(r, cost, charged)
    except (KeyError, TypeError, ValueError):
        return None


def _current_path_rows(kind: str, ledger: Ledger, profile: Profile) -> pd.DataFrame:
    """The ledger's rows of ``kind`` (retrains: the experiments table) of ``profile`` on the compute path in force."""
    table = ledger.table(kind_named(kind).ledger)
    if table.empty or "profile" not in table:
        return table
    rows = table[table["profile"].astype(str) == profile.name].drop_duplicates("key")
    if "code_version" in rows:
        tag = compute_path_tag()
        versions = rows["code_version"].astype(str)
        rows = rows[versions.str.endswith(tag)] if tag else rows[~versions.str.contains("~", regex=False)]
    return rows


def _measured(kind: str, ledger: Ledger, cost: _Cost) -> tuple[float, int]:
    """(median seconds per training, rows) over the ledger's rows of ``kind`` that record their
    time, of the profile and on the compute path in force (another path runs at another speed).
    The median, not a ratio of sums: a row computed on a crowded machine (a 10x slow original
    beside other jobs) must not set the estimate."""
    rows = _current_path_rows(kind, ledger, cost.profile)
    times = [_row_time(kind, r, cost) for r in rows.to_dict("records")] if len(rows) else []
    per_training = [s / u for s, u in filter(None, times) if u > 0]
    return (float(np.median(per_training)) if per_training else 0.0), len(per_training)


def rates(profile: Profile, ledger: Ledger, cost: _Cost | None = None) -> dict[str, Rate]:
    """Each kind's seconds per training: measured on the ledger's rows of that kind and profile, else declared."""
    cost = cost or _Cost(profile)
    default = DEFAULT_SECONDS_PER_TRAINING.get(profile.name, DEFAULT_SECONDS_PER_TRAINING["cpu"])
    out = {}
    for kind in KINDS:
        if not kind_named(kind).trains:
            out[kind] = Rate(0.0, "no training (an evaluation of the original)")
            continue
        seconds, n = _measured(kind, ledger, cost)
        if n and seconds > 0:
            out[kind] = Rate(seconds, f"ledger: {n} {kind} row(s) of profile {profile.name} (median)")
        else:
            out[kind] = Rate(default, f"declared default for profile {profile.name}")
    return out


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Need:
    """One ledger row a notebook fetches: pending or present, and what computing it costs."""

    notebook: str
    kind: str
    spec: Any
    pending: bool
    trainings: float  # 0 when present
    known: bool = True  # False: a placeholder, its key waits on a tuning run


@dataclass(frozen=True)
class Plan:
    profile: str
    ledger: Path
    needs: tuple[Need, ...]
    rates: dict[str, Rate] = field(default_factory=dict)

    def pending(self, kind: str | None = None, notebook: str | None = None) -> list[Need]:
        return [n for n in self.needs if n.pending and kind in (None, n.kind) and notebook in (None, n.notebook)]

    @property
    def seconds(self) -> float:
        return sum(n.trainings * self.rates[n.kind].seconds_per_training for n in self.pending())

    def table(self) -> pd.DataFrame:
        """One row per notebook and kind: pending and needed rows, placeholders, trials, trainings, seconds, time source."""
        rows = []
        for (notebook, kind), group in _grouped(self.needs):
            pending = [n for n in group if n.pending]
            trainings = sum(n.trainings for n in pending)
            rate = self.rates[kind]
            rows.append({"notebook": notebook, "kind": kind, "pending": len(pending), "needed": len(group),
                         "awaiting_tuning": sum(not n.known for n in pending),
                         "trials": sum(kind_of(n.spec).trials(n.spec) for n in pending),
                         "trainings": trainings, "seconds": trainings * rate.seconds_per_training,
                         "time_from": rate.source})
        return pd.DataFrame(rows, columns=["notebook", "kind", "pending", "needed", "awaiting_tuning", "trials", "trainings", "seconds",
                                           "time_from"])

    def render(self) -> str:
        """The plan as text: a table per notebook and kind, then totals and notes."""
        table = self.table()
        head = f"Plan for profile {self.profile} (ledger {self.ledger}): rows the ledger lacks, by notebook and kind"
        if not self.pending():
            return f"{head}\n{len(self.needs)} rows needed, all in the ledger: nothing to compute."
        shown = table[table.pending > 0]
        lines = [head, ""]
        header = f"{'notebook':<22} {'kind':<24} {'pending':>12} {'trainings':>10} {'time':>11}  note"
        lines += [header, "-" * len(header)]
        for r in shown.itertuples():
            note = "; ".join(([f"{r.trials} trials"] if r.trials else [])
                             + ([f"{r.awaiting_tuning} await tuning"] if r.awaiting_tuning else []))
            lines.append(f"{r.notebook:<22} {KIND_LABELS[r.kind]:<24} {f'{r.pending} of {r.needed}':>12} {r.trainings:>10.1f} "
                         f"{_duration(r.seconds):>11}  {note}".rstrip())
        lines.append("-" * len(header))
        for kind in KINDS:
            part = shown[shown.kind == kind]
            if len(part):
                lines.append(f"{'all notebooks':<22} {KIND_LABELS[kind]:<24} {int(part.pending.sum()):>12} {part.trainings.sum():>10.1f} "
                             f"{_duration(part.seconds.sum()):>11}")
        lines.append(f"{'total':<22} {'':<24} {len(self.pending()):>12} {shown.trainings.sum():>10.1f} {_duration(self.seconds):>11}")
        lines += ["", "Trainings: in trainings of one HAM10000 original of this profile (see unlearnlib.execution.plan). Time on this machine, "
                  "per training:"]
        lines += [f"  {KIND_LABELS[kind]:<24} {f'{self.rates[kind].seconds_per_training:.3g} s':>9}  {self.rates[kind].source}"
                  for kind in KINDS if len(shown[shown.kind == kind])]
        lines.append("A row two notebooks share is listed under the first that fetches it.")
        lines.append("Times are the rows' own seconds summed, as one process computes them; on a local cluster of N workers "
                     "(make reproduce DASK_WORKERS=N) rows run N at a time, so the wall time is about 1/N of the total, "
                     f"here {_duration(self.seconds / 2)} on 2 workers.")
        waiting = sum(not n.known for n in self.pending())
        if waiting:
            lines.append(f"{waiting} row(s) use settings their tuning run (pending) has not chosen yet: their keys are unknown, so they "
                         "count as pending.")
        return "\n".join(lines)


def _grouped(needs: Sequence[Need]):
    order: dict[tuple[str, str], list[Need]] = {}
    for need in needs:
        order.setdefault((need.notebook, need.kind), []).append(need)
    notebooks = list(dict.fromkeys(n.notebook for n in needs))
    return sorted(order.items(), key=lambda item: (notebooks.index(item[0][0]), KINDS.index(item[0][1])))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


@dataclass(frozen=True)
class CurrentRows:
    """What the notebooks read, by ledger kind: (key, code version) of each row, and the code
    versions in use. Where some of a kind's keys wait on a tuning run (placeholders), only the
    code versions are known for that kind (``uncertain``)."""

    identities: dict[str, set[tuple[str, str]]]
    versions: dict[str, set[str]]
    uncertain: frozenset[str]

    def stale(self, kind: str, table: pd.DataFrame, profile: str) -> pd.Series:
        """Rows of ``profile`` in ``table`` that no notebook reads (a boolean mask)."""
        if table.empty or "code_version" not in table or "profile" not in table:
            return pd.Series(False, index=table.index)
        ours = table["profile"].astype(str) == profile
        versions = table["code_version"].astype(str)
        if kind in self.uncertain:  # keys not all known yet: only another code version is surely stale
            return ours & ~versions.isin(self.versions.get(kind, set()))
        identities = pd.Series(list(zip(table["key"].astype(str), versions)), index=table.index)
        return ours & ~identities.isin(self.identities.get(kind, set()))


def current_rows(plan: Plan) -> CurrentRows:
    """The rows ``plan``'s notebooks read (present or pending)."""
    identities: dict[str, set[tuple[str, str]]] = {}
    versions: dict[str, set[str]] = {}
    uncertain = set()
    for need in plan.needs:
        spec, kind = need.spec, kind_of(need.spec)
        version = kind.code_version(spec)
        versions.setdefault(kind.ledger, set()).add(version)
        if not need.known:
            uncertain.add(kind.ledger)
            continue
        identities.setdefault(kind.ledger, set()).add((kind.key(spec), version))
    return CurrentRows(identities, versions, frozenset(uncertain))


def prune(profile: str, *, apply: bool = False, ledger_root: str | Path | None = None) -> dict[str, int]:
    """How many of the ledger's rows of ``profile`` no notebook reads any more (another code
    version, recipe or compute path: a rerun's predecessors), by kind; dropped when ``apply``.
    Rows of other profiles are left alone; git keeps what is dropped."""
    plan = make_plan(profile, ledger_root=ledger_root)
    current = current_rows(plan)
    ledger = Ledger(plan.ledger)
    counts = {}
    for kind in LEDGER_KINDS:
        if not ledger.path(kind).exists():
            continue
        counts[kind] = int(current.stale(kind, ledger.table(kind), profile).sum())
        if apply and counts[kind]:
            ledger.drop(kind, lambda table, kind=kind: current.stale(kind, table, profile))
    return counts


def spent(plan: Plan) -> pd.DataFrame:
    """What the rows ``plan``'s notebooks read cost when they were computed, by kind: rows,
    trainings, the seconds they record (one worker's time) and core-seconds (seconds x the torch
    threads the row ran on), so that a study's wall time on ``c`` cores is about core-seconds / c
    when its workers keep every core busy. Retrains shared by a forget set's forgetting-quality
    runs count once. Only rows of the compute path in force; pending rows are not in it."""
    current, ledger, cost = current_rows(plan), Ledger(plan.ledger), _Cost(get_profile(plan.profile))
    out = []
    for kind in KINDS:
        if not kind_named(kind).trains:
            continue  # an evaluation of the original; its rows record no time
        rows = _current_path_rows(kind, ledger, cost.profile)
        wanted = current.identities.get(kind_named(kind).ledger, set())
        rows = rows[[(k, v) in wanted for k, v in zip(rows["key"].astype(str), rows["code_version"].astype(str))]] if len(rows) else rows
        seconds = units = core_seconds = 0.0
        n, shared = 0, set()  # shared: forget sets whose retrains a first row counted (the others read them from the cache)
        for r in rows.to_dict("records"):
            time = _row_time(kind, r, cost, shared)
            if time is None:
                continue
            row_seconds, row_units = time
            n, seconds, units = n + 1, seconds + row_seconds, units + row_units
            core_seconds += row_seconds * _threads(r.get("machine"))
        out.append({"kind": kind, "rows": n, "trainings": units, "seconds": seconds, "core_seconds": core_seconds})
    return pd.DataFrame(out, columns=["kind", "rows", "trainings", "seconds", "core_seconds"])


def _threads(machine) -> int:
    """The torch threads a row's ``machine`` stamp names ("..., 2 threads, ..."), 1 when it names none."""
    found = re.search(r"(\d+) threads", str(machine))
    return int(found.group(1)) if found else 1


def _present(spec, results: ResultStore) -> bool:
    return known(spec) and kind_of(spec).present(spec, results.ledger)


def make_plan(profile: str = "cpu", notebooks: list[str] | None = None, *, ledger_root: str | Path | None = None,
              parameters: dict[str, Any] | None = None) -> Plan:
    """What ``reproduce --profile profile`` (on ``notebooks``, default all) would compute;
    ``parameters`` override the notebooks' defaults (``reproduce -p``), as papermill passes them."""
    prof = get_profile(profile)
    activate_compute_path(prof)  # the keys and code versions of the profile's path
    results = ResultStore(ledger_root)
    cost = _Cost(prof)
    seen, charged, needs = set(), set(), []
    for path in notebook_paths(notebooks):
        if path.stem not in NOTEBOOKS:
            continue  # 00_data fetches no ledger row
        for spec in notebook_specs(path.stem, prof, results, {**notebook_parameters(path), **(parameters or {})}):
            identity = (kind_of(spec).ledger, kind_of(spec).key(spec))
            if identity in seen:
                continue
            seen.add(identity)
            pending = not _present(spec, results)
            needs.append(Need(path.stem, _kind(spec), spec, pending, cost.of(spec, charged) if pending else 0.0, known(spec)))
    return Plan(prof.name, results.ledger.root, tuple(needs), rates(prof, results.ledger, cost))
