"""Each study notebook's grid, declared once: the rows the notebook reads, and the rows the plan lists.

``notebook_grid(name, profile, **parameters)`` builds notebook ``name``'s :class:`Grid` from the
values of its ``parameters`` cell (every one of them, by name; ``profile`` as the resolved
:class:`~unlearnlib.profiles.Profile`). The notebook calls it once, right after ``start``, and
fetches each of its tables from it (``grid.fetch("results")``: the rows, computed where missing
unless computing is off, as ``study.run_study_grid`` and friends fetch them); ``unlearnlib.execution.plan``
calls the same function with the same parameters (the defaults, or what ``reproduce -p`` passes)
and lists ``grid.specs``. A test (``tests/test_notebook_grids.py``) checks, per notebook, that the
rows the notebook reads are the rows the plan lists.

A table is a list of parts, each one call of the library's fetching functions (``grid.run_grid``
on one dataset's experiments, ``tuning.run_tuning`` per tuning run, ``relearn.relearning_rows``,
``fq_run.run_forgetting_quality``, ``originals.original_summary``, ``originals.difficulty_table``,
``noise_floor.noise_floor_rows``, ``ulira.ulira_rows``, ``offline_lira.offline_lira_rows``),
concatenated in order: the rows, their order and their columns are those of the notebook cells
that called those functions directly before.

What a grid cannot know from its parameters it asks its :class:`Lookup`: the settings a tuning
run chose (the notebook: the tuning row, tuned where missing, as ``study.tuned_settings``; the
plan: the row when the ledger has it, else a placeholder) and the size of a training split (the
notebook loads the data, as ``study.tuning_fraction_for_size``; the plan reads a table). The
values the parameters resolve to (the methods, a forget size, the fraction tuned at, ...) are in
``grid.resolved``, so that the notebook's text and figures use what the grid fetched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd

from ..kinds.fq_run import run_forgetting_quality
from .grid import expand_grid, run_grid
from ..kinds.noise_floor import ANALYSES, MIN_PAIRS, Analysis, NoiseFloorSpec, noise_floor_rows
from ..kinds.offline_lira import OfflineLiraSpec, offline_lira_rows, reference_set
from ..kinds.originals import difficulty_table, load_study_data, original_summary
from ..profiles import Profile
from ..kinds.relearn import RelearnBudget, RelearnSpec, relearn_ks, relearning_rows
from ..kinds.specs import ExperimentSpec, ForgettingQualitySpec, OriginalSpec, TuningSpec, tuning_spec
from .study import TUNING_FRACTION, nearest_tuning_fraction, tunable
from ..kinds.tuning import run_tuning, tuned_hyperparameters
from ..kinds.ulira import ULiraSpec, shadow_set, ulira_rows


@dataclass(frozen=True)
class Scores:
    """The difficulty table of one original (``originals.difficulty_table``): its per-sample
    scores and its dataset's memorization estimate from ``n_models`` models."""

    original: OriginalSpec
    n_models: int


@dataclass(frozen=True)
class Lookup:
    """What a grid asks for that its parameters do not say: ``tuned(spec)``, the settings tuning
    run ``spec`` chose; ``train_size(profile, dataset)``, the images in the training split."""

    tuned: Callable[[TuningSpec], dict[str, Any]]
    train_size: Callable[[Profile, str], int]


def _tuned_by_fetching(spec: TuningSpec) -> dict[str, Any]:
    return tuned_hyperparameters(run_tuning(spec))


def _loaded_train_size(profile: Profile, dataset: str) -> int:
    return len(load_study_data(OriginalSpec.from_profile(profile, dataset, 0)).split("train"))


# The notebooks' lookup: tuning rows fetched (tuned where missing, unless computing is off), data loaded.
FETCH = Lookup(tuned=_tuned_by_fetching, train_size=_loaded_train_size)

# How each kind of part fetches its rows (computed where missing, unless computing is off).
_FETCHERS: dict[str, Callable[["Part"], pd.DataFrame]] = {
    "experiments": lambda part: run_grid(list(part.specs), progress=part.progress),
    "tuning": lambda part: pd.DataFrame([run_tuning(spec) for spec in part.specs]),
    "originals": lambda part: pd.DataFrame([original_summary(spec) for spec in part.specs]),
    "relearning": lambda part: relearning_rows(list(part.specs), progress=part.progress),
    "forgetting_quality": lambda part: pd.DataFrame([run_forgetting_quality(spec) for spec in part.specs]),
    "difficulty": lambda part: difficulty_table(part.specs[0].original, memorization_models=part.specs[0].n_models),
    "noise_floor": lambda part: noise_floor_rows(list(part.specs), progress=part.progress),
    "ulira": lambda part: pd.DataFrame(ulira_rows(part.specs)),
    "offline_lira": lambda part: pd.DataFrame(offline_lira_rows(part.specs)),
}


@dataclass(frozen=True)
class Part:
    """One fetch of a table: rows of ``kind`` for ``specs`` (a difficulty part: one :class:`Scores`),
    with constant ``columns`` added (``DataFrame.assign``)."""

    kind: str
    specs: tuple
    columns: tuple[tuple[str, Any], ...] = ()
    progress: bool = True  # a progress bar while rows are computed

    def __post_init__(self) -> None:
        if self.kind not in _FETCHERS:
            raise ValueError(f"unknown part kind {self.kind!r}; known: {', '.join(_FETCHERS)}")

    def fetch(self) -> pd.DataFrame:
        frame = _FETCHERS[self.kind](self)
        return frame.assign(**dict(self.columns)) if self.columns else frame


@dataclass(frozen=True)
class Grid:
    """A notebook's tables (name -> parts), every spec it reads in fetch order (``specs``: the
    tables' and the tuning runs read for settings, each once) and what its parameters resolved to."""

    notebook: str
    tables: dict[str, tuple[Part, ...]]
    specs: tuple
    resolved: dict[str, Any] = field(default_factory=dict)

    def fetch(self, table: str) -> pd.DataFrame:
        """The rows of ``table``, its parts concatenated in order (computed where missing, unless computing is off)."""
        if table not in self.tables:
            raise KeyError(f"notebook {self.notebook}'s grid has no table {table!r}; its tables: {', '.join(self.tables)}")
        return pd.concat([part.fetch() for part in self.tables[table]], ignore_index=True)


class _Builder:
    """Collects a grid's tables and the specs it reads, in order."""

    def __init__(self, profile: Profile, lookup: Lookup):
        self.profile, self.lookup = profile, lookup
        self.tables: dict[str, list[Part]] = {}
        self.order: list = []
        self.resolved: dict[str, Any] = {}

    def add(self, table: str, part: Part) -> None:
        self.tables.setdefault(table, []).append(part)
        self.order += part.specs

    def seeds(self, seeds, seed_set: str = "seeds") -> list[int]:
        return list(getattr(self.profile, seed_set)) if seeds is None else [int(s) for s in seeds]

    def focus(self, methods) -> list[str]:
        """The methods of an analysis: ``methods``, else the original, retrain and the profile's focus methods."""
        return ["original", "retrain", *self.profile.focus_methods] if methods is None else list(methods)

    def tuning_fraction_for_size(self, dataset: str, size: int) -> float:
        """``study.tuning_fraction_for_size``, the training split's size from the lookup."""
        return nearest_tuning_fraction(self.profile, dataset, size, self.lookup.train_size(self.profile, dataset))

    def tuning_specs(self, dataset: str, methods="all", *, fraction: float = TUNING_FRACTION, objective: str = "retrain") -> list[TuningSpec]:
        return [tuning_spec(self.profile, dataset, m, objective=objective, fraction=fraction) for m in tunable(methods)]

    def settings(self, dataset: str, methods="all", *, fraction: float = TUNING_FRACTION) -> dict[str, dict[str, Any]]:
        """``study.tuned_settings``: each tunable method's settings tuned on ``dataset`` (objective
        ``retrain``) on a forget set of ``fraction``; the tuning runs count as read."""
        specs = self.tuning_specs(dataset, methods, fraction=fraction)
        self.order += specs
        return {spec.experiment.method: self.lookup.tuned(spec) for spec in specs}

    def experiments(self, table: str, *, datasets: Sequence[str], scenarios, methods="all", seeds=None, tuned: bool = True,
                    tuning_fraction: float = TUNING_FRACTION) -> None:
        """``study.run_study_grid``'s rows: one part per dataset, at the tuned settings (``tuned``) or the defaults."""
        for dataset in datasets:
            overrides = self.settings(dataset, methods, fraction=tuning_fraction) if tuned else None
            specs = expand_grid(self.profile, datasets=[dataset], scenarios=scenarios, methods=methods, seeds=seeds, hyperparameters=overrides)
            self.add(table, Part("experiments", tuple(specs)))

    def tuning(self, table: str, dataset: str, methods="all", *, fraction: float = TUNING_FRACTION, objective: str = "retrain",
               **columns) -> None:
        """``study.tuning_records``' rows, ``columns`` added."""
        self.add(table, Part("tuning", tuple(self.tuning_specs(dataset, methods, fraction=fraction, objective=objective)),
                             tuple(columns.items())))

    def relearning(self, table: str, *, datasets: Sequence[str], scenarios, seeds=None, methods="all",
                   tuning_fraction: float = TUNING_FRACTION, budget: RelearnBudget = RelearnBudget(), ks: Sequence[int] = (0,),
                   progress: bool = True) -> None:
        """``relearn.relearning_rows`` of the attack, with each k of ``ks`` forget images, on the
        experiments of ``scenarios`` (as :meth:`experiments` takes them; ``study.relearn_specs``
        for a random whole-lesion set), the methods at the settings tuned at ``tuning_fraction``."""
        specs = []
        for dataset in datasets:
            experiments = expand_grid(self.profile, datasets=[dataset], scenarios=scenarios, seeds=seeds, methods=methods,
                                      hyperparameters=self.settings(dataset, methods, fraction=tuning_fraction))
            specs += [RelearnSpec(e, budget, k) for k in ks for e in experiments]
        self.add(table, Part("relearning", tuple(specs), progress=progress))

    def grid(self, notebook: str) -> Grid:
        return Grid(notebook, {name: tuple(parts) for name, parts in self.tables.items()}, tuple(dict.fromkeys(self.order)),
                    dict(self.resolved))


# ----------------------------------------------------------------------------- one function per notebook
# Each takes exactly its notebook's parameters (but ``profile``); their order is the order the
# notebook fetches in.


def _original_models(g: _Builder, *, datasets, seeds) -> None:
    seeds = g.seeds(seeds)
    g.add("originals", Part("originals", tuple(OriginalSpec.from_profile(g.profile, d, s) for d in datasets for s in seeds)))


def _main_benchmark(g: _Builder, *, datasets, methods, forget_fraction, seeds) -> None:
    scenarios, seeds = [("random", {"fraction": forget_fraction})], g.seeds(seeds)
    g.experiments("tuned", datasets=datasets, scenarios=scenarios, methods=methods, seeds=seeds, tuned=True)
    g.experiments("default", datasets=datasets, scenarios=scenarios, methods=methods, seeds=seeds, tuned=False)


def _forget_size(g: _Builder, *, dataset, methods, fractions, seeds) -> None:
    prof, seeds, methods = g.profile, g.seeds(seeds, "curve_seeds"), g.focus(methods)
    fractions = list(prof.forget_fractions) if fractions is None else list(fractions)
    # The fair curve: every method tuned at each size. Beside it: tuned once at 10 %, served at every size.
    for f in fractions:
        g.experiments("results", datasets=[dataset], scenarios=[("random", {"fraction": f})], methods=methods, seeds=seeds, tuning_fraction=f)
    g.experiments("tuned_once", datasets=[dataset], scenarios=[("random", {"fraction": f}) for f in fractions], methods=methods,
                  seeds=seeds, tuning_fraction=TUNING_FRACTION)
    # Finding 3's power: every method, the retrain and the original at more seeds at the smallest and largest
    # size, each end at the settings tuned at its own size (as "results"; the curve's seeds are rows of both).
    end_seeds, ends = list(prof.curve_end_seeds) or list(seeds), (min(fractions), max(fractions))
    for f in ends:
        g.experiments("ends", datasets=[dataset], scenarios=[("random", {"fraction": f})], methods=methods, seeds=end_seeds, tuning_fraction=f)
    for f in fractions:
        g.tuning("tuning", dataset, methods, fraction=f, scenario_fraction=f)
    for f in ends:
        g.relearning("end_relearning", datasets=[dataset], scenarios=[("random", {"fraction": f})], seeds=seeds, methods=methods,
                     tuning_fraction=f, progress=False)
    g.resolved.update(methods=methods, fractions=fractions, end_seeds=end_seeds)


def _sex_bias(g: _Builder, *, dataset, methods, forget_size, seeds) -> None:
    methods = g.focus(methods)
    size = g.profile.group_forget_size if forget_size is None else forget_size
    # Settings tuned at this forget size (the size curve's tuning of notebook 03), the same for both arms.
    fraction = g.tuning_fraction_for_size(dataset, size)
    g.experiments("results", datasets=[dataset], scenarios=[("sex", {"sex": s, "size": size}) for s in ("male", "female", "mixed")],
                  methods=methods, seeds=g.seeds(seeds), tuning_fraction=fraction)
    g.tuning("tuning", dataset, methods, fraction=fraction)
    g.resolved.update(methods=methods, size=size, tuning_fraction=fraction)


def _difficulty(g: _Builder, *, dataset, methods, forget_size, score, seeds) -> None:
    seeds = g.seeds(seeds)
    g.add("scores", Part("difficulty", (Scores(OriginalSpec.from_profile(g.profile, dataset, seeds[0]), g.profile.memorization_models),)))
    methods = g.focus(methods)
    size = g.profile.group_forget_size if forget_size is None else forget_size
    fraction = g.tuning_fraction_for_size(dataset, size)
    g.experiments("results", datasets=[dataset], scenarios=[("difficulty", {"kind": k, "size": size, "score": score}) for k in ("easy", "hard", "random")],
                  methods=methods, seeds=seeds, tuning_fraction=fraction)
    g.tuning("tuning", dataset, methods, fraction=fraction)
    # The relearning attack on the hard (most memorized) sets only, where the issue and the reference attack:
    # the easy sets would double its cost for forget sets the original barely memorized (little to relearn).
    g.relearning("relearning", datasets=[dataset], scenarios=[("difficulty", {"kind": "hard", "size": size, "score": score})],
                 seeds=seeds, methods=methods, tuning_fraction=fraction, ks=relearn_ks(size))
    g.resolved.update(methods=methods, size=size, tuning_fraction=fraction, ks=relearn_ks(size))


def _efficiency_tuning(g: _Builder, *, datasets, tuning_dataset, forget_fraction, seeds) -> None:
    scenarios, seeds = [("random", {"fraction": forget_fraction})], g.seeds(seeds)
    g.experiments("tuned", datasets=datasets, scenarios=scenarios, seeds=seeds, tuned=True)
    g.experiments("default", datasets=datasets, scenarios=scenarios, seeds=seeds, tuned=False)
    tuning_dataset = g.profile.fq_dataset if tuning_dataset is None else tuning_dataset
    g.tuning("tuning", tuning_dataset, objective="retrain_free")
    for dataset in datasets:
        g.tuning("tuning", dataset, objective="retrain")
    g.resolved.update(tuning_dataset=tuning_dataset)


def _privacy(g: _Builder, *, datasets, quality_dataset, methods, forget_fraction, n_models, seeds) -> None:
    prof, seeds = g.profile, g.seeds(seeds)
    g.experiments("results", datasets=datasets, scenarios=[("random", {"fraction": forget_fraction})], seeds=seeds)
    n = prof.fq_models if n_models is None else n_models
    quality_dataset = prof.fq_dataset if quality_dataset is None else quality_dataset
    chosen = ["retrain", *prof.focus_methods] if methods is None else list(methods)
    settings = g.settings(quality_dataset, chosen)
    original = OriginalSpec.from_profile(prof, quality_dataset, seeds[0])
    g.add("quality", Part("forgetting_quality", tuple(ForgettingQualitySpec(
        ExperimentSpec.build(original, "random", m, hyperparameters=settings.get(m), fraction=forget_fraction), n, prof.fq_bootstrap)
        for m in chosen)))
    budget, ks = RelearnBudget(), {}  # the attack on every main-table run, with each k relearn_ks allows (study.main_table_specs)
    for dataset in datasets:
        ks[dataset] = relearn_ks(round(forget_fraction * g.lookup.train_size(prof, dataset)))
        g.relearning("relearning", datasets=[dataset], scenarios=[("random", {"fraction": forget_fraction})], seeds=seeds, budget=budget,
                     ks=ks[dataset])
    # Per-example attacks (issue 34) on every main-table run: U-LiRA where shadow models are cheap (the
    # quality dataset, as forgetting quality's many models per side), offline LiRA on the other datasets.
    attacks = {d: "U-LiRA" if d == quality_dataset else "offline LiRA" for d in datasets}
    for dataset in datasets:
        main_table = expand_grid(prof, datasets=[dataset], scenarios=[("random", {"fraction": forget_fraction})], seeds=seeds,
                                 hyperparameters=g.settings(dataset))
        if dataset == quality_dataset:
            shadows = shadow_set(prof, dataset, seeds=seeds, fraction=forget_fraction, rounds=prof.ulira_rounds)
            g.add("per_example", Part("ulira", tuple(ULiraSpec(shadows, e) for e in main_table), (("attack", attacks[dataset]),)))
        else:
            references = reference_set(prof, dataset)
            g.add("per_example", Part("offline_lira", tuple(OfflineLiraSpec(references, e) for e in main_table), (("attack", attacks[dataset]),)))
    g.resolved.update(n_models=n, quality_dataset=quality_dataset, chosen=chosen, budget=budget, ks=ks, attacks=attacks)


def _patient_level(g: _Builder, *, dataset, methods, forget_fraction, seeds) -> None:
    methods = g.focus(methods)
    scenarios = [("random", {"fraction": forget_fraction, "unit": "image"}), ("random", {"fraction": forget_fraction})]
    # The study's tuning on a random whole-lesion set of this size, for both arms.
    g.experiments("results", datasets=[dataset], scenarios=scenarios, methods=methods, seeds=g.seeds(seeds), tuning_fraction=forget_fraction)
    g.tuning("tuning", dataset, methods, fraction=forget_fraction)
    g.resolved.update(methods=methods, tuning_fraction=forget_fraction)


GRIDS: dict[str, Callable[..., None]] = {
    "01_original_models": _original_models, "02_main_benchmark": _main_benchmark, "03_forget_size": _forget_size,
    "04_sex_bias": _sex_bias, "05_difficulty": _difficulty, "06_efficiency_tuning": _efficiency_tuning, "07_privacy": _privacy,
    "08_patient_level": _patient_level,
}  # 00_data reads the data only


def _built(name: str, profile: Profile, lookup: Lookup | None, parameters: dict) -> _Builder:
    if name not in GRIDS:
        raise ValueError(f"no grid for notebook {name!r}; known: {', '.join(GRIDS)}")
    builder = _Builder(profile, FETCH if lookup is None else lookup)
    GRIDS[name](builder, **parameters)
    return builder


# The notebooks whose verdicts read margins from the pooled noise floor: the analyses it is drawn from,
# 06 (a run that did nothing, within the floor of the original, fails) and 07 (the relearning verdict).
MARGIN_READERS = frozenset({analysis.notebook for analysis in ANALYSES} | {"06_efficiency_tuning", "07_privacy"})


def analysis_grid(name: str, profile: Profile, *, lookup: Lookup | None = None, **parameters) -> Grid:
    """:func:`notebook_grid` without the pooled noise-floor table: the analysis's own rows (what
    ``noise_floor.noise_floor_specs`` reads its retrains from)."""
    return _built(name, profile, lookup, parameters).grid(name)


def notebook_grid(name: str, profile: Profile, *, lookup: Lookup | None = None, **parameters) -> Grid:
    """Notebook ``name``'s grid at ``profile`` for ``parameters`` (every one of its parameters
    cell's names but ``profile``; a missing or unknown one is refused). The default ``lookup``
    (:data:`FETCH`) fetches tuning rows, tuning where they are missing unless computing is off.
    A notebook that judges with margins (:data:`MARGIN_READERS`) also has the table ``noise_floor``:
    every row of the pooled noise floor at ``profile``, whatever its parameters (the margins are one set)."""
    builder = _built(name, profile, lookup, parameters)
    if name in MARGIN_READERS:
        builder.add("noise_floor", Part("noise_floor", tuple(noise_floor_specs(profile))))
    return builder.grid(name)


# ----------------------------------------------------------------------------- the noise floor's retrains


def analysis_retrains(analysis: Analysis, profile: Profile) -> list[ExperimentSpec]:
    """The retrain specs of ``analysis`` at ``profile`` and its notebook's default parameters,
    as the notebook's grid builds them (no tuning is read: a retrain has no settings)."""
    from ..kinds.cost import train_size
    from ..paths import notebook_paths
    from .plan import notebook_parameters  # plan imports this module

    parameters = notebook_parameters(notebook_paths([analysis.notebook])[0])
    lookup = Lookup(tuned=lambda spec: {}, train_size=train_size)
    grid = analysis_grid(analysis.notebook, profile, lookup=lookup, **{k: v for k, v in parameters.items() if k != "profile"})
    specs = [s for part in grid.tables[analysis.table] for s in part.specs if isinstance(s, ExperimentSpec) and s.method == "retrain"]
    if analysis.arms is not None:
        name, values = analysis.arms
        specs = [s for s in specs if dict(s.scenario_params).get(name) in values]
    return list(dict.fromkeys(specs))


def noise_floor_specs(profile: Profile) -> list[NoiseFloorSpec]:
    """The pooled set at ``profile``, the same whatever parameters a notebook runs with: a replica
    of each retrain of each analysis (:data:`ANALYSES`, each retrain once), ``ceil(MIN_PAIRS / n)``
    replicas of each where a dataset has ``n`` < :data:`MIN_PAIRS` retrains."""
    retrains = list(dict.fromkeys(s for analysis in ANALYSES for s in analysis_retrains(analysis, profile)))
    per_dataset = pd.Series([s.original.dataset for s in retrains]).value_counts().to_dict()
    return [NoiseFloorSpec(s, r) for s in retrains for r in range(1, math.ceil(MIN_PAIRS / per_dataset[s.original.dataset]) + 1)]
