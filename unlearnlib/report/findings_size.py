"""Notebook 03's findings, written from its tables (as :mod:`unlearnlib.report.findings` does for the
others): each method's levels at the curve's ends, collapses and failed runs under each tuning,
finding 3 on the methods (each method's extra test-accuracy drop over the same seed's retrain,
``paper_rules.extra_drops``) with retrain's own drop as context; then the verdict line."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ..evaluation import failures
from . import paper

REFERENCES = failures.REFERENCES


def _interval(row) -> str:
    text = f"{row.difference:+.3f}"
    return text + (f" [{row.ci_low:+.3f}, {row.ci_high:+.3f}]" if row.ci_low == row.ci_low else "")


def forget_size(summary: pd.DataFrame, drops: pd.DataFrame, collapsed: pd.DataFrame, collapses: pd.DataFrame, extra: pd.DataFrame,
                ends: pd.DataFrame, *, methods: Sequence[str], majority: float, verdict: Mapping) -> list[str]:
    """Notebook 03: each method's test accuracy and average gaps at the smallest and largest size
    (``drops``: each method's own paired drop at the ends), the runs at the majority-class floor,
    the failed runs under each tuning and at the ends (``ends``, with ``failed``), finding 3
    (``extra``: ``paper_rules.extra_drops``) and the verdict."""
    sizes = sorted(summary.scenario_fraction.unique())
    small, large = sizes[0], sizes[-1]
    by, drop = summary.set_index(["method", "scenario_fraction"]), drops.set_index("method")
    lines = []
    for method in methods:
        d = drop.loc[method]
        at = lambda size, column: by.loc[(method, size), column]  # noqa: E731
        lines.append(f"{method}: test accuracy {at(small, 'test_acc_mean'):.3f} at {small:.0%} vs {at(large, 'test_acc_mean'):.3f} at {large:.0%} "
                     f"(curve seeds; drop on the end seeds {d.difference:+.3f}, 95 % CI [{d.ci_low:+.3f}, {d.ci_high:+.3f}], n = {d.pairs}); "
                     f"average gap to retrain {at(small, 'avg_gap_mean'):.3f} -> {at(large, 'avg_gap_mean'):.3f} (over balanced accuracies "
                     f"{at(small, 'avg_gap_bacc_mean'):.3f} -> {at(large, 'avg_gap_bacc_mean'):.3f}).")
    lines.append(f"Tuned at each size, runs at or below the majority-class test accuracy ({majority:.3f}) + {failures.MAJORITY_MARGIN}: "
                 + ("none" if collapsed.empty else "; ".join(f"{r.method} at {r.scenario_fraction:.0%} seed {r.seed} ({r.test_acc:.3f})"
                                                             for r in collapsed.itertuples())) + ".")
    for label, part in collapses.groupby("tuned_at", sort=False):
        failing = part[part.failed_runs > 0]
        lines.append(f"Failed runs ({failures.RULE}), tuned {'at each size' if label == 'each size' else f'once at {label}'}: "
                     + ("none" if failing.empty else ", ".join(f"{r.method} {r.failed_runs} of {r.runs} (lowest test accuracy {r.min_test_acc:.3f})"
                                                             for r in failing.itertuples())) + ".")
    approximate = ends[~ends.method.isin(REFERENCES)]
    failing = failures.failing_methods(approximate)
    lines.append(f"At the two ends on the end seeds, failed runs (damaged, or did nothing): {failures.describe_failures(approximate)}; "
                 "not counted in finding 3.")
    lines += extra_drop_lines(extra, failing)
    lines.append(paper.verdict_line(verdict))
    return lines


def extra_drop_lines(extra: pd.DataFrame, failing: Mapping[str, tuple[int, int]]) -> list[str]:
    """Finding 3 in words: retrain's own drop (context), then each counted method's extra drop
    over the same seed's retrain with its 95 % interval, Holm-adjusted p, TOST p and class."""
    by = extra.set_index("method")
    r = by.loc["retrain"]
    small, large = extra.smallest.iloc[0], extra.largest.iloc[0]
    lines = [f"Context: retraining itself loses {_interval(r)} test accuracy from {small:.0%} to {large:.0%} of train (95 % CI, "
             f"{int(r.pairs)} seeds): it has less data. Not judged."]
    tested = extra[extra.metric == "extra_drop"]
    counted = tested[~tested.method.isin(list(failing))]
    words = {"higher": "loses more than retraining", "lower": "loses less", "equivalent": "as retraining", "undetermined": "undetermined"}
    lines.append(f"Finding 3, each method's test-accuracy drop from {small:.0%} to {large:.0%} minus the same seed's retrain drop (95 % CI, "
                 f"Holm over {len(tested)} methods, TOST against the test-accuracy margin ±{tested.margin.iloc[0]:.3g}), counted methods: "
                 + ("; ".join(f"{x.method} {_interval(x)}, p = {x.p_adjusted:.3f}, TOST p = {x.p_equivalence:.3f} ({words[x.result]})"
                              for x in counted.itertuples()) or "none") + ".")
    failed = tested[tested.method.isin(list(failing))]
    if len(failed):
        lines.append("The same for the failing methods, for the record: " + "; ".join(
            f"{x.method} {_interval(x)} (fails {failing[x.method][0]} of {failing[x.method][1]})" for x in failed.itertuples()) + ".")
    return lines

