"""The notebooks' findings, written from their tables: each function takes the tables a
notebook displayed and returns its findings as lines for ``notebook.show_findings``. The
verdicts themselves are judged by ``unlearnlib.report.paper_rules`` (each function ends with the
verdict line it is handed); here the numbers are only put into words. Notebook 03's finding
is in :mod:`unlearnlib.report.findings_size`."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import pandas as pd

from ..evaluation import failures
from . import paper, paper_rules

REFERENCES = ("original", "retrain")


def _interval(row, *, sign: bool = True, digits: int = 3) -> str:
    """``"+0.012 [-0.004, +0.028]"`` (no interval for a single pair)."""
    fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
    text = fmt.format(row.difference)
    if row.ci_low == row.ci_low:
        text += f" [{fmt.format(row.ci_low)}, {fmt.format(row.ci_high)}]"
    return text


def _fails(failing: Mapping[str, tuple[int, int]], method: str) -> str:
    return f" (fails {failing[method][0]} of {failing[method][1]})" if method in failing else ""


# -- 02 ---------------------------------------------------------------------------------------


def main_benchmark(summary: pd.DataFrame, runs: pd.DataFrame, versus_original: pd.DataFrame, states: pd.DataFrame,
                   tests: pd.DataFrame, *, datasets: Sequence[str], verdict: Mapping) -> list[str]:
    """Notebook 02: per dataset, retraining's accuracies, the ranked average gaps (plain and over
    balanced accuracies), the failed runs by kind, the methods significantly closer to retrain
    than doing nothing, and finding 1 per method (``states``, ``tests``:
    ``paper_rules.judge_performs_well``); then the verdict. ``runs``: the tuned ledger rows with
    ``failed`` (``failures.with_damage`` with the margins, so that doing nothing counts)."""
    lines = []
    for dataset in datasets:
        part = summary[summary.dataset == dataset].set_index("method")
        retrain, original = part.loc["retrain"], part.loc["original"]
        approximate = part.drop(index=[m for m in REFERENCES if m in part.index])
        ranked = approximate.sort_values("avg_gap_mean")
        methods_here = runs[(runs.dataset == dataset) & ~runs.method.isin(REFERENCES)]
        failing = failures.failing_methods(methods_here)
        lines.append(f"{dataset}: retraining gives retain / forget / test accuracy {retrain.retain_acc_mean:.3f} / {retrain.forget_acc_mean:.3f} / "
                     f"{retrain.test_acc_mean:.3f} in {retrain.seconds_mean:.1f} s; the untouched original is {original.avg_gap_mean:.3f} "
                     f"from it on average (forget accuracy {original.forget_acc_mean:.3f}).")
        lines.append(f"{dataset}: average gap to retrain, tuned methods (mean ± sd, n = {int(ranked.n.min())}): "
                     + ", ".join(f"{m} {r.avg_gap_mean:.3f} ± {r.avg_gap_sd:.3f}{_fails(failing, m)}" for m, r in ranked.iterrows()) + ".")
        lines.append(f"{dataset}: the same gap over balanced accuracies (avg_gap_bacc; the original {original.avg_gap_bacc_mean:.3f}): "
                     + ", ".join(f"{m} {r.avg_gap_bacc_mean:.3f}" for m, r in approximate.sort_values("avg_gap_bacc_mean").iterrows()) + ".")
        lines.append(f"{dataset}: failed runs ({failures.RULE}; and {failures.DID_NOTHING_RULE}): "
                     f"{failures.describe_failures(methods_here)}.")
        vs = versus_original[versus_original.dataset == dataset]
        significant = vs[(vs.p_adjusted < 0.05) & (vs.difference < 0)]
        closer = significant[~significant.method.isin(list(failing))].method.tolist()
        closer_failing = significant[significant.method.isin(list(failing))].method.tolist()
        lines.append(f"{dataset}: significantly closer to retrain than doing nothing (Holm over {len(vs)} methods), counting only methods without "
                     f"failed runs: {len(closer)} of {len(vs)}" + (f" ({', '.join(closer)})" if closer else "")
                     + ("; significant but failing, not counted: " + ", ".join(f"{m}{_fails(failing, m)}" for m in closer_failing)
                        if closer_failing else "") + ".")
        lines.append(performs_well(states[states.dataset == dataset], tests[tests.dataset == dataset], dataset=dataset))
    lines.append(paper.verdict_line(verdict))
    return lines


def performs_well(states: pd.DataFrame, tests: pd.DataFrame, *, dataset: str) -> str:
    """One line of finding 1 on one dataset: which methods perform well (retain and forget accuracy
    both equivalent to retrain's), which do not (with the metric that differs, its difference and
    90 % interval), which are undetermined and which fail; then the dataset's verdict."""
    by = tests.set_index(["method", "metric"])

    def off(method: str) -> str:
        differ = [m for m in paper_rules.PERFORMS_WELL_METRICS if by.loc[(method, m), "result"] in ("higher", "lower")]
        return method + " (" + ", ".join(f"{m} {by.loc[(method, m), 'difference']:+.3f} [{by.loc[(method, m), 'ci90_low']:+.3f}, "
                                         f"{by.loc[(method, m), 'ci90_high']:+.3f}]" for m in differ) + ")"

    named = {state: states[states.state == state].method.tolist() for state in ("performs well", "does not", "undetermined", "failing")}
    fails = [f"{r.method} ({r.failed_runs} of {r.runs})" for r in states[states.state == "failing"].itertuples()]
    return (f"{dataset}, finding 1 (retain and forget accuracy each against the same seed's retrain, 90 % interval against the noise "
            f"floor, Holm over {len(tests)} tests): performs well: " + (", ".join(named["performs well"]) or "none")
            + "; does not: " + (", ".join(off(m) for m in named["does not"]) or "none")
            + "; undetermined: " + (", ".join(named["undetermined"]) or "none") + "; failing, not counted: " + (", ".join(fails) or "none")
            + f" — {dataset} verdict: {states.dataset_verdict.iloc[0] if len(states) else 'inconclusive'}.")


# -- 04, 05, 08: paired differences between two arms -----------------------------------------


def counted_differences(differences: pd.DataFrame, failing: Mapping[str, tuple[int, int]], *, metric: str = "avg_gap",
                        label: str, margin: float) -> str:
    """One line: each method without failed runs, its paired difference in ``metric`` with the
    95 % interval, Holm-adjusted p, TOST p against ``margin`` and its class (``paper_rules.classify``)."""
    gap = differences[differences.metric == metric].set_index("method")
    tested = gap.drop(index=list(REFERENCES), errors="ignore")
    counted = tested.drop(index=list(failing), errors="ignore")
    return (f"{label}, methods without failed runs (mean over {int(tested.pairs.min())} paired seeds, 95 % CI, Holm-adjusted p over "
            f"{len(tested)} methods, TOST p against ±{margin:g}): "
            + ("none" if counted.empty else "; ".join(f"{m} {_interval(r)}, p = {r.p_adjusted:.3f}, TOST p = {r.p_equivalence:.3f} "
                                                      f"({paper_rules.classify(r)})" for m, r in counted.iterrows())) + ".")


def failing_differences(differences: pd.DataFrame, failing: Mapping[str, tuple[int, int]], *, metric: str = "avg_gap",
                        extra: Mapping[str, str] | None = None) -> list[str]:
    """The same for the methods with failed runs, for the record (none when none failed);
    ``extra`` adds a note per method."""
    if not failing:
        return []
    gap = differences[differences.metric == metric].set_index("method")
    extra = extra or {}
    return ["The same for the failing methods, for the record: " + "; ".join(
        f"{m} {_interval(gap.loc[m])}" + (f" ({extra[m]})" if m in extra else "") for m in failing if m in gap.index) + "."]


def sex_bias(differences: pd.DataFrame, summary: pd.DataFrame, arms: pd.DataFrame, *, margin: float, composition: Mapping,
             verdict: Mapping) -> list[str]:
    """Notebook 04: failed runs, the male-minus-female gaps of the counted methods (and of the
    failing ones, for the record), the original's baseline, retraining's per-sex accuracies and
    how much of their difference the test split's composition explains (``composition``:
    :func:`unlearnlib.execution.study.sex_composition`); then the verdict."""
    failing = failures.failing_methods(arms[~arms.method.isin(REFERENCES)])
    lines = [f"Failed runs in the male-only and female-only arms ({failures.RULE}; or did nothing): "
             f"{failures.describe_failures(arms[~arms.method.isin(REFERENCES)])}; "
             "these methods are reported as failing, not as showing or lacking a sex difference.",
             counted_differences(differences, failing, label="Average gap to retrain, male-only minus female-only", margin=margin)]
    lines += failing_differences(differences, failing)
    gap = differences[differences.metric == "avg_gap"].set_index("method")
    if "original" in gap.index:
        base = gap.loc["original"]
        lines.append(f"Baseline: the untouched original is {_interval(base)} further from retrain after a male-only "
                     "than after a female-only request (a method that does nothing inherits this).")
    retrain = summary[summary.method == "retrain"].set_index("scenario_sex")
    lines.append(f"Retraining's test accuracy male / female patients: {retrain.loc['male', 'test_male_acc_mean']:.3f} / "
                 f"{retrain.loc['male', 'test_female_acc_mean']:.3f} after forgetting males, {retrain.loc['female', 'test_male_acc_mean']:.3f} / "
                 f"{retrain.loc['female', 'test_female_acc_mean']:.3f} after forgetting females.")
    bacc = {s: float(retrain[f"test_{s}_bacc_mean"].mean()) for s in ("male", "female")}
    acc_gap = float((retrain["test_female_acc_mean"] - retrain["test_male_acc_mean"]).mean())
    share = composition["largest_share"]
    lines.append(f"Part of that accuracy difference ({acc_gap:.3f}, women minus men, mean over the three requests) follows the test split's "
                 f"composition: the largest class ('{composition['largest_class']}') is {share['male']:.1%} of men's test images and "
                 f"{share['female']:.1%} of women's. In balanced accuracy, which weighs every class equally, retraining scores {bacc['male']:.3f} "
                 f"on men and {bacc['female']:.3f} on women (difference {bacc['female'] - bacc['male']:.3f}): a property of the retrained model "
                 "and the test split, present before any unlearning method runs.")
    lines.append(paper.verdict_line(verdict))
    return lines


def difficulty_validity(summary: pd.DataFrame, differences: pd.DataFrame) -> str:
    """Notebook 05's validity check of the score, in words (not a finding): retraining's forget
    accuracy on easy, random and hard sets, and whether the score separates them."""
    by = summary.set_index(["scenario_kind", "method"])
    sep = differences[(differences.metric == "forget_acc") & (differences.method == "retrain")].iloc[0]
    level = lambda kind, method: by.loc[(kind, method), "forget_acc_mean"]  # noqa: E731
    judged = ("One seed: no interval, so the separation is not judged." if sep.ci_high != sep.ci_high else
              "The score separates the strata." if sep.ci_high < 0 else
              "The score does not separate the strata: the comparison below means little.")
    return (f"**Validity check of the score (not a finding).** Retraining should recover easy samples but not hard ones: "
            f"retraining's forget accuracy is easy {level('easy', 'retrain'):.3f}, random {level('random', 'retrain'):.3f}, hard "
            f"{level('hard', 'retrain'):.3f} (easy minus hard {-sep.difference:+.3f}, 95 % CI [{-sep.ci_high:+.3f}, {-sep.ci_low:+.3f}]); "
            f"the original's: {level('easy', 'original'):.3f} / {level('random', 'original'):.3f} / {level('hard', 'original'):.3f}. {judged}")


def difficulty(differences: pd.DataFrame, summary: pd.DataFrame, arms: pd.DataFrame, closed: pd.DataFrame, *, margin: float,
               verdict: Mapping, score: str) -> list[str]:
    """Notebook 05: failed runs, the hard-minus-easy gaps of the counted methods with the direction
    of any bias (and of the failing ones with their test accuracies), the secondary share of the
    original's gap closed (``closed``: ``paper_rules.gap_closed``), then the verdict."""
    by = summary.set_index(["scenario_kind", "method"])
    approximate = arms[~arms.method.isin(REFERENCES)]
    failing = failures.failing_methods(approximate)
    lines = [f"Failed runs in the easy and hard arms ({failures.RULE}; or did nothing): {failures.describe_failures(approximate)}; "
             "these methods are reported as failing, not as biased or unbiased.",
             counted_differences(differences, failing, label="Average gap to each stratum's retrain, hard minus easy", margin=margin)]
    gap = differences[differences.metric == "avg_gap"].set_index("method")
    counted = gap.drop(index=[*REFERENCES, *failing], errors="ignore")
    words = {m: paper_rules.BIAS_WORDS[paper_rules.classify(r)] for m, r in counted.iterrows()}
    lines.append("Read two-sided: " + ("; ".join(f"{m} {w}" for m, w in words.items()) or "no method counted") + ".")
    lines += failing_differences(differences, failing, extra={
        m: f"p = {gap.loc[m, 'p_adjusted']:.3f}, hard-set test accuracy {by.loc[('hard', m), 'test_acc_mean']:.3f}, easy-set "
           f"{by.loc[('easy', m), 'test_acc_mean']:.3f}" for m in failing if m in gap.index})
    if "original" in by.index.get_level_values("method"):
        lines.append(f"Secondary (declared, not in the verdict): the untouched original's average gap is {by.loc[('easy', 'original'), 'avg_gap_mean']:.3f} "
                     f"on easy sets and {by.loc[('hard', 'original'), 'avg_gap_mean']:.3f} on hard ones, so raw gaps partly measure how "
                     "much there is to forget. Share of the original's gap each method closes, hard minus easy (95 % CI, Holm-adjusted p): "
                     + ("; ".join(f"{r.method} {_interval(r)}, p = {r.p_adjusted:.3f}" + _fails(failing, r.method)
                                  for r in closed.itertuples()) or "none") + ".")
    lines.append(paper.verdict_line(verdict) + f" (by {score})")
    return lines


def patient_level(differences: pd.DataFrame, summary: pd.DataFrame, runs: pd.DataFrame, *, margin: float, twin_share: float,
                  seeds: int, verdict: Mapping) -> list[str]:
    """Notebook 08: lesions with a twin left in the retain set, retraining's forget accuracy under
    both draws with what its interval rules out (per twinned image: ``twin_share``, from
    :func:`unlearnlib.execution.study.twin_share`), failed runs, each method's whole-lesion-minus-single-image
    gap; then the verdict."""
    from ..evaluation.stats import smallest_ruled_out

    by = summary.set_index(["scenario_unit", "method"])
    lines = [f"Image-level draws leave {by.loc[('image', 'retrain'), 'forget_groups_in_retain_mean']:.0f} forgotten lesions with a twin in the "
             f"retain set (whole-lesion draws: {by.loc[('group', 'retrain'), 'forget_groups_in_retain_mean']:.0f})."]
    f = differences[(differences.metric == "forget_acc") & (differences.method == "retrain")].iloc[0]
    bound = float(smallest_ruled_out(f.ci_low, f.ci_high))
    level = lambda unit, method: by.loc[(unit, method), "forget_acc_mean"]  # noqa: E731
    lines.append(f"Retrained model's forget accuracy: single images {level('image', 'retrain'):.3f}, whole lesions "
                 f"{level('group', 'retrain'):.3f} (difference {f.difference:+.3f}, 95 % CI [{f.ci_low:+.3f}, {f.ci_high:+.3f}]); "
                 f"the original's: {level('image', 'original'):.3f} / {level('group', 'original'):.3f}. "
                 f"The interval rules out a change larger than {bound:.3f} over the whole image-level forget set; {twin_share:.0%} of its "
                 f"images have a same-lesion twin in the retain set (mean over {seeds} seeds)"
                 + (f", so per twinned image the bound is about {bound / twin_share:.2f}." if twin_share > 0 else ": no twin effect to bound."))
    failing = failures.failing_methods(runs[~runs.method.isin(REFERENCES)])
    lines.append(f"Failed runs in either arm ({failures.RULE}; or did nothing): {failures.describe_failures(runs[~runs.method.isin(REFERENCES)])}.")
    gap = differences[differences.metric == "avg_gap"].set_index("method")

    def described(m, row) -> str:
        text = f"{m} {_interval(row)}" + ("" if pd.isna(row.p_adjusted) else f", p = {row.p_adjusted:.3f}")
        if m in failing:
            return text + f" (fails {failing[m][0]} of {failing[m][1]})"
        return text + ("" if pd.isna(row.p_adjusted) else f", TOST p = {row.p_equivalence:.3f} ({paper_rules.classify(row)})")

    lines.append("Average gap to retrain, whole lesions minus single images (95 % CI, Holm-adjusted p for the methods, TOST p against "
                 f"±{margin:g} for the methods without failed runs): " + "; ".join(described(m, row) for m, row in gap.iterrows()) + ".")
    lines.append(paper.verdict_line(verdict))
    return lines


# -- 06 ---------------------------------------------------------------------------------------


def efficiency_tuning(tuning: pd.DataFrame, comparison: pd.DataFrame, timing: pd.DataFrame, *, datasets: Sequence[str],
                      tuning_dataset: str, seeds: int, verdict: Mapping) -> list[str]:
    """Notebook 06: what tuning cost per dataset and objective (with its failed and diverged
    trials), whether tuning helped out of sample (``comparison``: tuned minus default, Holm),
    the run-time efficiency ranges, the median method's cost; then the verdict."""
    lines = []
    retrain_objective = tuning[tuning.objective == "retrain"]
    for dataset, part in retrain_objective.groupby("dataset", sort=False):
        lines.append(f"{dataset}: tuning each method with {int(part.n_trials.iloc[0])} trials (retrain objective) cost {part.cost_in_retrains.min():.2f} "
                     f"to {part.cost_in_retrains.max():.2f} retrains (median {part.cost_in_retrains.median():.2f}); all {len(part)} methods "
                     f"together {part.cost_in_retrains.sum():.1f} retrains, plus the retrain the objective needs; "
                     f"{int(part.failed_trials.sum())} of {int(part.n_trials.sum())} trials failed, {int(part.diverged_trials.sum())} diverged.")
    free = tuning[tuning.objective == "retrain_free"]
    if len(free):
        lines.append(f"{tuning_dataset}, retrain-free objective: {free.cost_in_retrains.min():.2f} to {free.cost_in_retrains.max():.2f} retrains "
                     f"per method, {free.cost_in_retrains.sum():.1f} in all.")
    for dataset, part in comparison.groupby("dataset", sort=False):
        helped = part[(part.p_adjusted < 0.05) & (part.difference < 0)]
        hurt = part[(part.p_adjusted < 0.05) & (part.difference > 0)].method.tolist()
        lines.append(f"{dataset}, out of sample ({int(part.pairs.min())} evaluation seeds): tuning brought significantly closer to retrain "
                     "(Holm): " + (", ".join(helped.method) if len(helped) else "none") + "; significantly further: "
                     + (", ".join(hurt) if hurt else "none") + f"; mean change in average gap over all {len(part)} methods "
                     f"{part.difference.mean():+.3f}" + (f", over the {len(helped)} significantly helped {helped.difference.mean():+.3f}"
                                                         if len(helped) else "") + ".")
    approximate = timing[~timing.method.isin(REFERENCES)]
    for dataset, part in approximate.groupby("dataset", sort=False):
        rte = part.set_index("method")["rte_mean"]
        lines.append(f"RTE on {dataset} (retrain's time over the method's, mean over {seeds} seeds): from {rte.min():.1f}x "
                     f"({rte.idxmin()}) to {rte.max():.1f}x ({rte.idxmax()}).")
    fast = approximate.groupby("method")["rte_mean"].mean()
    lines.append(f"RTE averaged over both datasets ({', '.join(datasets)}): from {fast.min():.1f}x ({fast.idxmin()}) to {fast.max():.1f}x "
                 f"({fast.idxmax()}).")
    costs = paper_rules.tuning_costs(tuning)
    lines.append(f"With {int(retrain_objective.n_trials.max())} trials, tuning the median method costs "
                 + ", ".join(f"{r.median_cost:.2f} retrains on {r.dataset} counting the retrain its objective compares with "
                             f"({r.median_tuning_only:.2f} without it)" for r in costs.itertuples())
                 + "; the verdict uses the full cost. The trials' part grows linearly with the trials.")
    lines.append(paper.verdict_line(verdict))
    return lines


# -- 07 ---------------------------------------------------------------------------------------


def privacy(attacks: pd.DataFrame, quality: pd.DataFrame, relearning: pd.DataFrame, *, datasets: Sequence[str], quality_dataset: str,
            n_models: int, margin: float | Mapping[str, float], verdict: Mapping | None = None) -> list[str]:
    """Notebook 07: the membership attacks per dataset, forgetting quality relative to retrain
    (which methods are distinguishable from retraining at this N), and what the relearning attack
    changes (``relearning``: ``relearn_verdict.relearning_change_table``; ``margin``: its margin;
    ``verdict``: ``relearn_verdict.judge_relearning``'s row, its line last)."""
    lines = []
    for dataset in datasets:
        part = attacks[attacks.dataset == dataset].set_index("method")
        r, others = part.loc["retrain"], part.drop(index=list(REFERENCES), errors="ignore")
        lines.append(f"{dataset}: retrain's MIA-efficacy {r.mia_efficacy_mean:.3f} and loss-attack accuracy {r.loss_attack_mean:.3f}; "
                     f"the original's MIA-efficacy {part.loc['original', 'mia_efficacy_mean']:.3f}; closest method: "
                     f"{others['gap_mia_efficacy_mean'].idxmin()}, furthest: {others['gap_mia_efficacy_mean'].idxmax()} "
                     f"({others['gap_mia_efficacy_mean'].max():.3f} away).")
    q = quality.set_index("method")
    lines.append(f"Forgetting quality on {quality_dataset} at N = {n_models}: two independent sets of retrains score "
                 f"{q.loc['retrain', 'ceiling_score']:.3f} against each other (the ceiling). Retraining's own score relative to retrain is 1 "
                 "by construction (its score is that ceiling), so it carries no interval.")
    ranked = quality[quality.method != "retrain"].sort_values("relative_to_retrain", ascending=False)
    lines.append("Relative to retrain (95 % half-sample CI): " + "; ".join(
        f"{r.method} {r.relative_to_retrain:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" + (" (identical models)" if r.identical_models else "")
        for r in ranked.itertuples()) + ".")
    resolved = [r.method for r in ranked.itertuples() if r.ci_high < 1]
    lines.append("Methods whose interval lies below the retrain level (distinguishable from retraining at this N): "
                 + (", ".join(resolved) if resolved else "none") + ".")
    return lines + relearning_changes(relearning, margin=margin, verdict=verdict)


def relearning_changes(relearning: pd.DataFrame, *, margin: float | Mapping[str, float], verdict: Mapping | None = None,
                       where: str = "") -> list[str]:
    """Notebooks 05 and 07: what the relearning attack changes per dataset and k
    (``relearning``: ``relearn_verdict.relearning_change_table``; ``margin``: its margin, per dataset
    or one; ``where``: the forget sets, e.g. " (hard sets)"; ``verdict``: ``judge_relearning``'s row, its line last)."""
    lines = []
    for (dataset, k), part in relearning.groupby(["dataset", "k_forget"], sort=False):
        part = part.set_index("method")
        r, o = part.loc["retrain"], part.loc["original"]
        lines.append(f"{dataset}{where}, {k} forget images in the attack: it changes retrain's forget accuracy (on the forget images it did "
                     f"not see) by {r.attack_change:+.3f} and the original's by {o.attack_change:+.3f} (n = {int(r.n_seeds)} seeds).")
        for word, group in part.drop(index=list(REFERENCES), errors="ignore").groupby("verdict", sort=False):
            floor = margin[dataset] if isinstance(margin, Mapping) else margin
            lines.append(f"{dataset}{where}, k = {k}, {word} (excess change: the method's change minus retrain's, margin ±{floor:.3g}, "
                         "paired 95 % CI): " + "; ".join(
                             f"{m} {_interval(g.rename({'excess_change': 'difference'}))}" + _failed(g) for m, g in group.iterrows()) + ".")
    if verdict is not None:
        from .relearn_verdict import verdict_line

        lines.append(verdict_line(verdict))
    return lines


def _failed(row) -> str:
    return f" (attack failed in {int(row.failed_runs)} of {int(row.runs)} runs, not counted)" if row.failed_runs else ""


def per_example(table: pd.DataFrame, ranking: pd.DataFrame, *, verdict: Mapping | None = None,
                cost: pd.DataFrame | None = None) -> list[str]:
    """Notebook 07's per-example attacks (``per_example_verdict``: ``per_example_table``,
    ``ranking_table``, ``attack_cost`` and ``judge_ranking``'s row, its line last): the calibration per
    dataset, the methods whose forget examples are more identifiable than under retraining, the
    ranking, the attacks' compute."""
    from .per_example_verdict import MIN_METHODS, MORE

    lines = []
    for dataset, part in table.groupby("dataset", sort=False):
        part = part.set_index("method")
        o, r = part.loc["original"], part.loc["retrain"]
        lines.append(f"{dataset} ({o.attack}): calibration: the original's TPR at 1 % FPR {o.tpr_at_1pct:.3f} (AUC {o.auc:.3f}), "
                     f"retrain's {r.tpr_at_1pct:.3f} (AUC {r.auc:.3f}; chance: TPR at 1 % FPR 0.01, AUC 0.5), n = {int(r.n_seeds)} seeds.")
        methods = part.drop(index=list(REFERENCES), errors="ignore")
        for word, group in methods.groupby(methods["verdict"] == MORE, sort=False):
            label = "more identifiable than under retraining" if word else "not shown more identifiable"
            lines.append(f"{dataset}, {label} (AUC minus retrain's, paired 95 % CI; one-sided t-test, Holm over the methods): " + "; ".join(
                f"{m} {_interval(SimpleNamespace(difference=g.auc_vs_retrain, ci_low=g.auc_ci_low, ci_high=g.auc_ci_high))}"
                f"{_failed(g)}" for m, g in group.iterrows()) + ".")
    for row in ranking.itertuples():
        rho = (f"Spearman rho {row.rho:+.2f} [{row.ci_low:+.2f}, {row.ci_high:+.2f}] (95 % seed bootstrap)" if pd.notna(row.rho)
               else f"no rank correlation (fewer than {MIN_METHODS} counted methods)")
        lines.append(f"{row.dataset}: per-example TPR at 1 % FPR vs |MIA-efficacy gap| over {row.n_methods} counted methods: "
                     f"{rho}: {row.verdict}.")
    for row in ([] if cost is None else cost.itertuples()):
        lines.append(f"{row.dataset}: the attack's compute, one thread per task: {row.core_hours:.2f} core-hours over {row.rows} rows "
                     f"(shared models {row.shared_models_s / 3600:.2f}, shadow unlearning {row.shadow_unlearning_s / 3600:.2f}, "
                     f"attacked runs {row.attacked_runs_s / 3600:.2f}); beyond the shared models {row.beyond_shared_core_hours:.2f}.")
    if verdict is not None:
        lines.append(paper.verdict_line(verdict))
    return lines


# -- 03 ---------------------------------------------------------------------------------------


def relearning_ends(summary: pd.DataFrame, *, budget: str, margin: float) -> list[str]:
    """Notebook 03: one line per forget size (``summary``: ``relearn_verdict.relearning_table`` rows with
    ``scenario_fraction``), each method's gap to the relearned retrain with its verdict."""
    return [f"Relearning attack ({budget}) at {f:.0%} of train, gap of the relearned forget accuracy to the relearned retrain "
            f"(paired 95 % CI, margin ±{margin}): " + "; ".join(
                (f"{r.method} {_interval(r)}" if r.n_seeds > 1 else f"{r.method} {r.difference:+.3f}") + f" ({r.verdict})"
                for r in part.itertuples() if r.method not in REFERENCES) + "."
            for f, part in summary.groupby("scenario_fraction", sort=True)]
