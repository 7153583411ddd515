"""The report's limitations: what this study is not, each point short, from README.md's
caveats and "The paper vs this study", with its numbers read from the declarations
(``unlearnlib.report.paper``, ``unlearnlib.profiles``) and the committed tables, so that they follow
a rerun. A table that is missing drops only the number it would give."""
from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from . import paper
from ..execution import study
from .html_tables import format_number
from ..profiles import PROFILES, get_profile


def _read(figures: Path, name: str) -> pd.DataFrame | None:
    path = figures / name
    return pd.read_csv(path) if path.exists() else None


def _test_accuracy(figures: Path) -> str:
    """", test accuracy 0.738 on ham10000, 0.837 on breastmnist" from notebook 01's summary."""
    summary = _read(figures, "01_original_models_summary.csv")
    if summary is None or "test_acc_mean" not in summary:
        return ""
    parts = [f"{format_number(round(r.test_acc_mean, 3))} on {html.escape(str(r.dataset))}" for r in summary.itertuples()]
    return f" (the original's test accuracy: {', '.join(parts)})"


def _small_forget_sets(figures: Path) -> str:
    """BreastMNIST's forget-set size in the main benchmark, from notebook 02's table."""
    table = _read(figures, "02_main_benchmark.csv")
    sizes = table[table["dataset"] == "breastmnist"]["forget_size_mean"] if table is not None and "forget_size_mean" in table else []
    size = f"{format_number(sizes.iloc[0])} images" if len(sizes) else "a few dozen images"
    return (f"<b>Small forget sets on BreastMNIST.</b> Its {study.TUNING_FRACTION:.0%} forget sets hold {size}, so its "
            "intervals are wide.")


def _profiles(profiles: list[str]) -> str:
    """Which declared study profiles ran (from the provenance) and which did not."""
    unrun = [get_profile(name) for name in PROFILES if name not in profiles and name != "smoke"]
    missing = "; ".join(f"the <code>{p.name}</code> profile (<code>{html.escape(p.model)}</code>; "
                        f"{html.escape(p.notes)}) has not been run" for p in unrun)
    shown = ", ".join(f"<code>{html.escape(p)}</code>" for p in profiles)
    return f"<b>One profile.</b> Every result comes from the {shown} profile" + (f"; {missing}." if missing else ".")


def limitations(profiles: list[str], figures: Path) -> list[str]:
    """Each limitation as one HTML sentence or two."""
    prof = get_profile(profiles[0])
    return [
        ("<b>The paper, read through its abstract.</b> Its findings enter as the claims quoted in the cover table, its "
         f"setting as <code>unlearnlib/report/paper.py</code> records it: {html.escape(paper.SETTING['paper'])}. The comparison "
         "is of claims and verdicts, never of the paper's numbers."),
        ("<b>Substitute datasets.</b> HAM10000 (split by lesion) and BreastMNIST, which the offline mirror holds, stand "
         "in for the paper's: CheXpert's licence forbids redistribution, and TissueMNIST records no patient sex, which "
         "the sex analysis needs."),
        (f"<b>A tiny model.</b> <code>{html.escape(prof.model)}</code> at {prof.image_size} px, sized for a 2-core "
         f"machine{_test_accuracy(figures)}, where the paper trains ResNets on larger images."),
        _profiles(profiles),
        _small_forget_sets(figures),
        ("<b>Ported methods.</b> Each method is re-derived from its reference code (its module's docstring says what was "
         "followed), with defaults scaled to this data size by optimizer steps, then tuned with the same budget; a port "
         "can differ from its authors' implementation in what the docstring does not cover."),
        ("<b>Whole-lesion requests.</b> A forget set is drawn as whole lesions, where the paper draws single samples; "
         "notebook 08 compares the two."),
        ("<b>Timings.</b> Run times, run-time efficiency and tuning costs in retrains were "
         "measured on the machines the provenance table names; on a GPU the ratios may differ."),
    ]


def limitations_html(profiles: list[str], figures: Path) -> str:
    """The limitations section's list."""
    return "<ul class='limitations'>" + "".join(f"<li>{item}</li>" for item in limitations(profiles, Path(figures))) + "</ul>"
