"""The report's methods section, written from the code's own declarations: the profile
(model, recipe, seeds, forget sizes, tuning budget), the unlearning methods (registry order,
described and cited in ``unlearnlib.report.html_references``), the primary endpoint and the metrics of
the average gap, the tuning protocol (``unlearnlib.execution.study``'s docstring), the split sizes
notebook 00 measured, the statistics the notebooks use, and each verdict's rule
(``unlearnlib.report.paper``), printed here once. Change a declaration and the section follows; only
the definitions below are prose."""
from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pandas as pd

from ..evaluation import failures, metrics, stats as report
from . import paper
from ..kinds import relearn
from ..execution import study
from ..algorithms import available
from .html_references import BASELINES, cite, methods_table
from .html_tables import format_number
from .html_verdicts import claims
from .plots import METRIC_LABELS
from ..profiles import get_profile

# What each metric measures (the labels come from plots.METRIC_LABELS).
METRIC_DEFINITIONS = {
    "retain_acc": "accuracy on the retain set (training images not asked to be forgotten)",
    "forget_acc": "accuracy on the forget set; retraining without it is the reference, not zero",
    "test_acc": "accuracy on the held-out test split",
    "mia_efficacy": "share of forget images that SalUn's attack (an SVM on the true-class confidence, trained on retain "
                    "images as members and test images as non-members) calls non-members; higher is more forgotten",
    "loss_attack": "accuracy of the NeurIPS 2023 starting kit's loss-threshold attack separating forget from test images",
    "seconds": "wall time of the unlearning run",
    "rte": "run-time efficiency: retrain's wall time over the method's",
}
METRIC_REFERENCES = {"mia_efficacy": ("fan2024",), "loss_attack": ("challenge2023",), "rte": ("nasirigerdeh2024",)}


def _paragraphs(text: str | None) -> list[str]:
    """A docstring's paragraphs after its summary line, each on one line, its reST roles
    (``x``, :data:`X`) as Markdown code."""
    paragraphs = [" ".join(p.split()) for p in (text or "").split("\n\n") if p.strip()][1:]
    return [re.sub(r":\w+:`([^`]+)`", r"`\1`", p).replace("``", "`") for p in paragraphs]


def _markdown_inline(text: str) -> str:
    import markdown_it

    return markdown_it.MarkdownIt("commonmark", {"html": False}).renderInline(text)


def _split_sizes(figures: Path) -> str:
    """Images (and lesions / patients) per split, from notebook 00's table when it exists."""
    path = figures / "00_split_sizes.csv"
    if not path.exists():
        return ""
    sizes = pd.read_csv(path)
    parts = []
    for dataset, rows in sizes.groupby("dataset", sort=False):
        splits = ", ".join(f"{r.split} {format_number(r.images)} images ({format_number(r.groups)} groups)" for r in rows.itertuples())
        parts.append(f"{html.escape(str(dataset))}: {html.escape(splits)}")
    return "<p>Split sizes (notebook 00): " + "; ".join(parts) + ".</p>"


def _compute_path_words(label: str) -> str:
    if label == "eager-fp32":
        return "eager fp32"
    words = {"channels_last": "channels-last memory", "bf16": "bf16 autocast (weights and optimizer in fp32)", "compile": "torch.compile"}
    return " + ".join(words[part] for part in label.split("+")) + " (every record names it in its code version)"


def methods_html(profile: str, figures: Path) -> str:
    """The methods section for a run of ``profile``."""
    prof = get_profile(profile)
    recipe = ", ".join(f"{f.name.replace('_', ' ')} {getattr(prof.recipe, f.name)}" for f in dataclasses.fields(prof.recipe))
    percent = lambda f: f"{f:.0%}"  # noqa: E731
    gap = ", ".join(METRIC_LABELS.get(m, m) for m in metrics.GAP_METRICS)
    metric_items = "".join(
        f"<li><b>{html.escape(METRIC_LABELS.get(name, name))}</b> (<code>{name}</code>): {html.escape(text)}"
        f"{' ' + cite(*METRIC_REFERENCES[name]) if name in METRIC_REFERENCES else ''}</li>"
        for name, text in METRIC_DEFINITIONS.items()
    )
    tuning = "".join(f"<p>{_markdown_inline(p)}</p>" for p in _paragraphs(study.__doc__))
    adjustment = report.P_ADJUSTMENTS[0]
    return f"""
<h3>Data and splits</h3>
<p>{html.escape(paper.SETTING['study'])}. Datasets: HAM10000 {cite('tschandl2018')}; BreastMNIST, from MedMNIST v2
{cite('yang2023')}. Every split keeps all images of one lesion (or patient) together.</p>
{_split_sizes(figures)}
<h3>Model and training</h3>
<p>Profile <code>{prof.name}</code>: model <code>{html.escape(prof.model)}</code> at {prof.image_size} px; training recipe:
{html.escape(recipe)}; arithmetic: {html.escape(_compute_path_words(prof.compute_path))}. One original model per seed, trained
on the whole training split. {html.escape(prof.notes)}.</p>
<h3>Forget requests</h3>
<p>A forget set is drawn inside the training split as whole lesions (a patient withdraws a lesion, not one photograph),
except in notebook 08, which also draws single images. The main benchmark forgets a random {percent(study.TUNING_FRACTION)} of
the training split; the size curves run {', '.join(map(percent, prof.forget_fractions))}; the sex and difficulty
analyses forget {prof.group_forget_size} images per set. Retraining from scratch on the retain set, from an initialisation
disjoint from the original's, is the gold standard every method is measured against.</p>
<h3 id="methods-unlearning">Unlearning methods</h3>
{_methods_intro()}
{methods_table(available())}
<h3>Metrics</h3>
<p><b>Primary endpoint:</b> the {html.escape(METRIC_LABELS.get(study.PRIMARY_ENDPOINT, study.PRIMARY_ENDPOINT))}
(<code>{study.PRIMARY_ENDPOINT}</code>) {cite('nasirigerdeh2024', 'fan2024')}, the mean absolute difference from the retrained model of the same seed over
{html.escape(gap)}. Lower is better; 0 is indistinguishable from retraining on these four numbers.</p>
<ul>{metric_items}</ul>
<p>Forgetting quality (notebook 07) is the NeurIPS 2023 unlearning challenge's score {cite('challenge2023', 'triantafillou2024')} over {prof.fq_models} unlearned and
{prof.fq_models} retrained models per side on {html.escape(prof.fq_dataset)}, reported relative to a second, independent
set of retrains, with a 95 % half-sample interval ({prof.fq_bootstrap} replicates).</p>
<h3>Tuning</h3>
{tuning}
<p>Budget: {prof.tuning_trials} Optuna trials per method and objective.</p>
<h3>Failed runs</h3>
<p>{html.escape(failures.RULE[0].upper() + failures.RULE[1:])} (<code>unlearnlib.evaluation.failures</code>). Every results table
reports <code>failed_runs</code> and the average gap over balanced accuracies (<code>avg_gap_bacc</code>) beside the primary
endpoint. A run that did nothing fails too: {html.escape(failures.DID_NOTHING_RULE)}. A method with failed runs is reported as failing in k of n runs: never counted as closer to retraining than
doing nothing, nor as showing or lacking a difference.</p>
<h3>Relearning attack</h3>
<p>After Siddiqui et al. {cite('siddiqui2025')}: each main-table model, the retrained model (the baseline) and the original (the ceiling) are fine-tuned on the same
fixed random subset of the retain set plus k forget images, k in {', '.join(map(str, relearn.RELEARN_KS))}
({html.escape(relearn.RelearnBudget().describe())}), and their forget accuracy is measured again on the forget images the
attack did not see. What is judged is what the attack changes: the method's forget accuracy after minus before, minus the
same seed's retrain's change, paired over seeds (<code>unlearnlib.report.relearn_verdict</code>; the rule under the relearning claim).</p>
<h3>Seeds and statistics</h3>
<p>Evaluation seeds {', '.join(map(str, prof.seeds))} ({len(prof.seeds)} seeds); the size curves use seeds
{', '.join(map(str, prof.curve_seeds))}{_end_seeds(prof)}; the memorization score {cite('feldman2020')} averages {prof.memorization_models} models trained on random
halves. Tables give mean ± sd over seeds unless they say otherwise. A comparison (a method against doing nothing, male-only
against female-only, hard against easy, whole lesions against single images) is a difference paired by seed with a 95 %
t-interval and a one-sample t-test; the p-values of the approximate methods on one dataset form one family, adjusted with
{adjustment.capitalize()}'s method. A "no difference" verdict states which differences its interval rules out: those beyond max(|low|, |high|).</p>
<p>Each claim is the paper's sentence, quoted word for word from its record (the abstract or its findings list; what
the record lacks, from secondary summaries, and marked so), with a line on how we read it. Verdicts are computed by rules
declared in <code>unlearnlib/report/paper.py</code> before the numbers and applied by <code>unlearnlib/report/paper_rules.py</code> (each rule
is printed below, once) and are one of {', '.join(paper.VERDICTS)}; every test uses alpha {paper.ALPHA}. "No difference" and
"performs well" need both one-sided tests (TOST) to pass, that is the {paper.TOST_LEVEL:.0%} interval inside the margin; every
other test is a two-sided paired t-test with its {paper.T_LEVEL:.0%} interval. Margins are not typed: each metric's margin is
the noise floor, how far a second retrain from an independent initialisation on the same forget set lies from the first,
computed from those pairs, and each verdict row states its margins and their reasons. Tuning's additional compute counts
as a lot from {paper.COST_THRESHOLD:g} retrain per method, the retrain the tuning objective compares with included.</p>
<h3 id="rules">Verdict rules</h3>
{rules_html()}
"""


def _methods_intro() -> str:
    """How many methods there are, and what they share."""
    approximate = [m for m in available() if m not in BASELINES]
    return (f"<p>{len(approximate)} approximate methods and {len(BASELINES)} baselines, in the registry's order "
            "(<code>unlearnlib.algorithms</code>, one module each). Each method is re-derived from its reference code, "
            "with defaults scaled to this data size by optimizer steps (its module's docstring gives the scaling), then "
            "tuned with the same budget (below). Two sentences each:</p>")


def rules_html() -> str:
    """Each claim's quote, reading and declared rule, once (the cover table and the notebook sections link here)."""
    items = []
    for item in claims():
        items.append(f"<li id='rule-{item['key']}'><b>{html.escape(item['finding'])}</b> (notebook "
                     f"<a href='#nb-{item['notebook']}'>{item['notebook']}</a>; {html.escape(paper.sourced(item))}): "
                     f"&ldquo;{html.escape(paper.quoted(item))}&rdquo; <i>How we read it:</i> {html.escape(item['reading'])} "
                     f"<i>Rule:</i> {html.escape(item['rule'])}</li>")
    return f"<ul class='rules'>{''.join(items)}</ul>"


def _end_seeds(prof) -> str:
    """The size curve's ends, where every method, the retrain and the original run on more seeds (finding 3's power)."""
    if not prof.curve_end_seeds:
        return ""
    return (f" (the focus methods, the retrain and the original on {len(prof.curve_end_seeds)} seeds at the smallest and the "
            "largest size, where finding 3 compares each method's drop with the same seed's retrain's)")
