"""Per-example likelihood-ratio attacks: the statistics (numpy and scipy only; no models, no I/O).

LiRA (Carlini, Chien, Nasr, Song, Terzis & Tramèr, "Membership Inference Attacks From First
Principles", IEEE S&P 2022; tensorflow/privacy ``research/mi_lira_2021``) scores one example
with one model by how likely the model's logit-scaled confidence on it is under two Gaussians
fitted, for that example alone, to shadow models of two kinds ("in" and "out"):

- :func:`logit_confidence`: phi = log p_y - log(1 - p_y) = z_y - logsumexp_{k != y} z_k, from
  logits (exact, no cap) or from probabilities (clipped at 1e-300 on both sides);
- :func:`per_example_gaussians`: each example's location (the median, as the reference: one
  diverged shadow does not move it) and scale (the sample sd) per side, with the pooled
  within-example sd where an example has fewer than ``min_per_side`` shadows on a side;
- :func:`likelihood_ratio`: online, log N(phi; in) - log N(phi; out); offline (no "in"
  shadows), the one-sided test against "out" only, as its z-score (see there);
- :func:`roc`, :func:`auc`, :func:`tpr_at_fpr`, :func:`flagged_share`: the attack's quality;
- :func:`paired_interval`: a metric's paired difference against the retrain over seeds.

U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa & Papernot, arXiv 2403.01218) is the online
test with "in" = unlearned by the method and "out" = retrained without the example
(:mod:`unlearnlib.kinds.ulira`); the offline test scores forget images against never-seen ones
(:mod:`unlearnlib.kinds.offline_lira`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import logsumexp

# The minimum of shadows per example and side; below it an example's own sd (from
# fewer than 8 values, a relative standard error above 25 %) gives way to the pooled one.
MIN_PER_SIDE = 8
# A floor on a fitted sd (logit units), far below any seed-to-seed spread: identical shadow
# scores would otherwise make the density infinite.
STD_FLOOR = 1e-3
_PROB_CLIP = 1e-300
# The FPRs at which a row keeps its ROC (:func:`tpr_curve`): log-spaced from 0.1 % to 100 %.
ROC_GRID = tuple(float(f) for f in np.round(np.logspace(-3, 0, 16), 6))


def logit_confidence(probs_or_logits: np.ndarray, labels: np.ndarray, *, logits: bool = True) -> np.ndarray:
    """LiRA's scaling of the true-class confidence, log(p_y / (1 - p_y)), per row.

    From logits (default) it is z_y - logsumexp_{k != y} z_k: exact for any confidence (a p_y of
    1 - 1e-12 gives 27.6, where log(p / (1 - p)) from the rounded probability would give
    inf or a rounding error's log). From probabilities (``logits=False``), both p_y and the sum
    of the others are clipped at 1e-300, so a saturated row is finite (about +-690)."""
    values = np.asarray(probs_or_logits, dtype=np.float64)
    labels = np.asarray(labels)
    if values.ndim != 2 or labels.shape != (values.shape[0],):
        raise ValueError(f"need (samples, classes) scores and one label per row; got shapes {values.shape} and {labels.shape}")
    if values.shape[1] < 2:
        raise ValueError(f"the logit-scaled confidence needs at least two classes; got {values.shape[1]}")
    if len(labels) and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= values.shape[1]):
        raise ValueError(f"labels must be integer classes in [0, {values.shape[1]}); got {labels.dtype} in "
                         f"[{labels.min()}, {labels.max()}]")
    rows = np.arange(len(labels))
    if logits:
        others = values.copy()
        others[rows, labels] = -np.inf
        return values[rows, labels] - logsumexp(others, axis=1)
    true = values[rows, labels]
    rest = values.sum(axis=1) - true  # not 1 - p_y: that cancels to 0 for a confident row
    return np.log(np.maximum(true, _PROB_CLIP)) - np.log(np.maximum(rest, _PROB_CLIP))


@dataclass(frozen=True, eq=False)
class Gaussians:
    """Per-example fits (length n each): location and scale of each side, and how many shadows
    each fit rests on; ``pooled_in`` / ``pooled_out`` mark the examples given the pooled sd."""

    mean_in: np.ndarray
    std_in: np.ndarray
    n_in: np.ndarray
    mean_out: np.ndarray
    std_out: np.ndarray
    n_out: np.ndarray
    pooled_in: np.ndarray
    pooled_out: np.ndarray


def _side(scores: np.ndarray, mask: np.ndarray, min_per_side: int, fixed_variance: bool, name: str, required: bool):
    n = mask.sum(axis=0)
    if required and (n == 0).any():
        lacking = np.flatnonzero(n == 0)
        raise ValueError(f"examples {lacking[:10].tolist()} have no {name!r} shadow model; each needs at least one "
                         f"(and {min_per_side} for its own variance): schedule more shadows")
    masked = np.where(mask, scores, np.nan)
    with warnings.catch_warnings():  # an example absent on a side: an all-NaN column, NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmedian(masked, axis=0)
        var = np.nanvar(masked, axis=0, ddof=1)
    dof = np.maximum(n - 1, 0)
    pooled = np.sqrt(np.nansum(np.where(dof > 0, var * dof, 0.0)) / dof.sum()) if dof.sum() else np.nan
    use_pooled = fixed_variance | (n < min_per_side)
    if np.isnan(pooled) and (use_pooled & (n > 0)).any():
        raise ValueError(f"no example has two {name!r} shadow scores, so no sd can be pooled for those with fewer than "
                         f"{min_per_side}: schedule more shadows (at least two per example on each side)")
    std = np.where(use_pooled, pooled, np.sqrt(var))
    return mean, np.maximum(std, STD_FLOOR), n, use_pooled & (n > 0)



def per_example_gaussians(scores: np.ndarray, membership: np.ndarray, *, min_per_side: int = MIN_PER_SIDE,
                          fixed_variance: bool = False, need_in: bool = True) -> Gaussians:
    """Fit each example's "in" and "out" Gaussian from ``scores`` (shadows x examples; NaN where a
    shadow says nothing about an example, as a U-LiRA shadow retrain about what it trained on)
    and ``membership`` (same shape, bool: True = that score is on the "in" side).

    Location: the median of the side's scores. Scale: their sample sd where the example has at
    least ``min_per_side`` shadows on that side, else (or everywhere, ``fixed_variance``, the
    reference's option for few shadows) the side's pooled within-example sd, sqrt(sum (n_i - 1)
    s_i^2 / sum (n_i - 1)): it carries no between-example spread, unlike the reference's sd of
    all scores together. An example with no shadow on a side is refused, unless that side is
    "in" and ``need_in`` is False (the offline attack), where its fit is NaN."""
    scores = np.asarray(scores, dtype=np.float64)
    membership = np.asarray(membership)
    if scores.ndim != 2 or membership.shape != scores.shape or membership.dtype != bool:
        raise ValueError(f"scores (shadows x examples) and a boolean membership of that shape are needed; got "
                         f"{scores.shape} and {membership.shape} ({membership.dtype})")
    if min_per_side < 2:
        raise ValueError(f"min_per_side must be >= 2 (an sd needs two values); got {min_per_side}")
    if np.isinf(scores).any():
        raise ValueError("shadow scores must be finite (NaN: no observation); got inf")
    seen = ~np.isnan(scores)
    mean_in, std_in, n_in, pooled_in = _side(scores, membership & seen, min_per_side, fixed_variance, "in", need_in)
    mean_out, std_out, n_out, pooled_out = _side(scores, ~membership & seen, min_per_side, fixed_variance, "out", True)
    return Gaussians(mean_in, std_in, n_in, mean_out, std_out, n_out, pooled_in, pooled_out)


def likelihood_ratio(target_scores: np.ndarray, fits: Gaussians, *, online: bool = True) -> np.ndarray:
    """The attack's score per example (higher = more likely "in").

    Online: log N(phi; mu_in, sd_in) - log N(phi; mu_out, sd_out). Offline: the one-sided test
    of Carlini et al. (their Lambda = Pr[Z < phi], Z ~ N(mu_out, sd_out)), returned as the
    z-score (phi - mu_out) / sd_out, which orders examples exactly as that probability does but
    does not saturate at 1 for a far-out phi (ties would cost resolution at low FPR)."""
    phi = np.asarray(target_scores, dtype=np.float64)
    if phi.shape != fits.mean_out.shape:
        raise ValueError(f"one target score per fitted example is needed: {fits.mean_out.shape}; got {phi.shape}")
    if not np.isfinite(phi).all():
        raise ValueError("target scores must be finite; got NaN or inf")
    if not online:
        return (phi - fits.mean_out) / fits.std_out
    if np.isnan(fits.mean_in).any():
        raise ValueError("the online test needs an 'in' fit for every example; fit with need_in=True or use online=False")
    return stats.norm.logpdf(phi, fits.mean_in, fits.std_in) - stats.norm.logpdf(phi, fits.mean_out, fits.std_out)


# ----------------------------------------------------------------------------- the attack's quality


def _check(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(labels).ravel()
    if scores.shape != labels.shape or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"one 0/1 label per score is needed; got {scores.shape} scores and labels {np.unique(labels)[:5]}")
    if not (labels == 1).any() or not (labels == 0).any():
        raise ValueError("an attack's ROC needs both positives (label 1) and negatives (label 0)")
    if np.isnan(scores).any():
        raise ValueError("attack scores must not be NaN")
    return scores, labels.astype(int)


def roc(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) at every threshold, from (0, 0) to (1, 1); a score above the threshold is flagged
    as positive (label 1, "in"). Ties share a threshold."""
    scores, labels = _check(scores, labels)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last index of each run of equal scores
    tp, fp = np.cumsum(y)[last], np.cumsum(1 - y)[last]
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def auc(scores, labels) -> float:
    """Area under the ROC: the chance a random positive outscores a random negative (ties 1/2)."""
    scores, labels = _check(scores, labels)
    ranks = stats.rankdata(scores)
    n_pos, n_neg = labels.sum(), (1 - labels).sum()
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def tpr_at_fpr(scores, labels, fpr: float) -> float:
    """The largest TPR at a threshold whose FPR is at most ``fpr`` (the reference's reading of the
    ROC). With n negatives, an ``fpr`` below 1/n allows no false positive at all: it is then the
    TPR at zero FPR (with the 55 negatives of one BreastMNIST forget set, already at 1 %)."""
    if not 0 <= fpr <= 1:
        raise ValueError(f"fpr must lie in [0, 1]; got {fpr}")
    f, t = roc(scores, labels)
    return float(t[f <= fpr + 1e-12].max())


def flagged_share(scores, labels, fpr: float) -> float:
    """The share of positives flagged at the threshold that flags ``fpr`` of the negatives: the
    ``1 - fpr`` quantile of the negatives' scores (rounded up to an observed score, so at most
    ``fpr`` of them lie strictly above it); a positive is flagged when strictly above."""
    if not 0 <= fpr < 1:
        raise ValueError(f"fpr must lie in [0, 1); got {fpr}")
    scores, labels = _check(scores, labels)
    negatives = np.sort(scores[labels == 0])
    threshold = negatives[min(len(negatives) - 1, int(np.ceil((1 - fpr) * len(negatives))) - 1)]
    return float((scores[labels == 1] > threshold).mean())


def attack_summary(scores, labels, fprs=(0.01, 0.001)) -> dict[str, float]:
    """AUC, TPR at each of ``fprs`` and the share flagged at the first, as one row's columns."""
    out = {"auc": auc(scores, labels)}
    out.update({f"tpr_at_{_tag(f)}": tpr_at_fpr(scores, labels, f) for f in fprs})
    out[f"flagged_at_{_tag(fprs[0])}"] = flagged_share(scores, labels, fprs[0])
    return out


def tpr_curve(scores, labels, grid=ROC_GRID) -> np.ndarray:
    """TPR at each FPR of ``grid``: a log-log ROC that averages over seeds (vertically) and fits a row."""
    return np.array([tpr_at_fpr(scores, labels, f) for f in grid])


def _tag(fpr: float) -> str:
    return f"{fpr * 100:g}pct".replace(".", "p")  # 0.01 -> 1pct, 0.001 -> 0p1pct


def paired_interval(values, reference, confidence: float = 0.95) -> dict[str, float]:
    """The mean of ``values - reference`` (paired: one pair per seed) with its t-interval and the
    two-sided one-sample t-test's p-value; NaN interval and p with fewer than two pairs, the point
    itself (p 0 or 1) when every difference is the same."""
    diff = np.asarray(values, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    diff = diff[~np.isnan(diff)]
    n = len(diff)
    mean = float(diff.mean()) if n else float("nan")
    if n < 2:
        return {"difference": mean, "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan"), "pairs": n}
    sd = float(diff.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return {"difference": mean, "ci_low": mean, "ci_high": mean, "p_value": 1.0 if abs(mean) <= 1e-12 else 0.0, "pairs": n}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
    return {"difference": mean, "ci_low": mean - half, "ci_high": mean + half,
            "p_value": float(stats.ttest_1samp(diff, 0.0).pvalue), "pairs": n}
