"""The NeurIPS 2023 unlearning challenge's forgetting quality: per-example epsilons and the score.

Pure functions: arrays in, numbers out.

- :func:`per_example_epsilon`, :func:`epsilon_score`, :func:`forget_score`,
  :func:`forgetting_quality`: the challenge's scoring (Triantafillou et al. 2024, "Are we making
  progress in unlearning? Findings from the first NeurIPS unlearning competition",
  arXiv:2406.09073), following its released code, google-deepmind/unlearning_evaluation
  ``metric.py`` (``compute_forget_score_from_confs``) and ``main.py`` (final score). The
  per-example statistic is :func:`unlearnlib.evaluation.attacks.logit_scaled_confidence`.
- :mod:`unlearnlib.evaluation.fq_interval`: the same epsilons vectorized, and the score relative to
  retraining's own with an interval over models; :mod:`unlearnlib.kinds.fq_run`: the ledger rows.
"""
from __future__ import annotations

import math

import numpy as np

# Constants of google-deepmind/unlearning_evaluation metric.py.
DELTA = 1e-5  # the delta of (epsilon, delta)-unlearning used by the challenge's scoring
EPSILON_CAP = 50.0  # epsilons are clipped to [0, EPSILON_CAP]; perfect separation gives the cap
THRESHOLDS_PER_UNIT = 100  # threshold grid density, per unit of the statistic
THRESHOLD_BUFFER = 2.0  # how far the interval-rule grid reaches around the peakier distribution
BUCKET_WIDTH = 0.5  # epsilon bins of width 0.5 score 1, 1/2, 1/4, ...
PEAKY_RATIO = 0.01  # one distribution's range under 1% of the other's: epsilon = EPSILON_CAP
MIN_FQ_MODELS = 4  # per set, so that the interval's subsets keep >= 3 models (the epsilon bins need 3) and leave one out


def check_stats(unlearned_stats: np.ndarray, retrained_stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both statistics as float arrays of one shape (models >= 2, forget examples >= 1), finite; else ValueError."""
    unlearned = np.asarray(unlearned_stats, dtype=np.float64)
    retrained = np.asarray(retrained_stats, dtype=np.float64)
    if unlearned.ndim != 2 or retrained.ndim != 2:
        raise ValueError(
            "statistics must be 2-D (models, forget examples); "
            f"got unlearned {unlearned.shape} and retrained {retrained.shape}"
        )
    if unlearned.shape != retrained.shape:
        raise ValueError(
            f"unlearned and retrained statistics must have the same shape; got {unlearned.shape} and {retrained.shape}"
        )
    if unlearned.shape[0] < 2:
        raise ValueError(f"need N >= 2 unlearned and retrained models per forget example; got N = {unlearned.shape[0]}")
    if unlearned.shape[1] == 0:
        raise ValueError("no forget examples: the statistics have 0 columns")
    if not (np.isfinite(unlearned).all() and np.isfinite(retrained).all()):
        raise ValueError("statistics must be finite; got NaN or inf")
    return unlearned, retrained


def _fraction_at_least(sorted_values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return 1.0 - np.searchsorted(sorted_values, thresholds, side="left") / len(sorted_values)


def _fraction_inside(sorted_values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    # Count of left <= v <= right; an empty interval (left > right) holds nothing.
    inside = np.searchsorted(sorted_values, right, side="right") - np.searchsorted(sorted_values, left, side="left")
    return np.maximum(inside, 0) / len(sorted_values)


def _single_threshold_rates(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of the rules "positive iff s >= t", t on the reference grid over [min, max]."""
    lo, hi = min(pos.min(), neg.min()), max(pos.max(), neg.max())
    thresholds = np.linspace(lo, hi, int(math.ceil((hi - lo) * THRESHOLDS_PER_UNIT)))
    fpr = _fraction_at_least(np.sort(neg), thresholds)
    fnr = 1.0 - _fraction_at_least(np.sort(pos), thresholds)
    return fpr, fnr


def _interval_rates(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of the rules "peakier distribution iff l <= s <= r" on the reference grid:
    r within THRESHOLD_BUFFER of the peakier one's max, width r - l within THRESHOLD_BUFFER of its range."""
    width = min(np.ptp(pos), np.ptp(neg))
    if np.ptp(pos) >= np.ptp(neg):  # the positive class of this rule is the peakier distribution
        pos, neg = neg, pos
    lo, hi = pos.min() + width - THRESHOLD_BUFFER, pos.max() + THRESHOLD_BUFFER
    right = np.linspace(lo, hi, int(math.ceil((hi - lo) * THRESHOLDS_PER_UNIT)))
    n_left = int(math.ceil(2 * THRESHOLD_BUFFER * THRESHOLDS_PER_UNIT))
    left = np.linspace(right - width - THRESHOLD_BUFFER, right - width + THRESHOLD_BUFFER, n_left, axis=1)
    right = np.broadcast_to(right[:, None], left.shape)
    fpr = _fraction_inside(np.sort(neg), left, right).reshape(-1)
    fnr = 1.0 - _fraction_inside(np.sort(pos), left, right).reshape(-1)
    return fpr, fnr


def _epsilon_from_rates(fpr: np.ndarray, fnr: np.ndarray, delta: float) -> float:
    """max over rules of max(log(1 - delta - FPR) - log FNR, log(1 - delta - FNR) - log FPR), each clipped at 0.

    As in the reference: FPR = FNR = 0 (perfect separation) gives inf; rules with exactly one of
    FPR, FNR zero are discarded ("an indication of insufficient samples"), as are rules where both
    terms are undefined (1 - delta - rate < 0). If no rule survives we return 0 (the reference
    fails an assertion there), e.g. when both statistics are one and the same constant."""
    both_zero = (fpr == 0) & (fnr == 0)
    if both_zero.any():
        return math.inf
    keep = (fpr > 0) & (fnr > 0)
    fpr, fnr = fpr[keep], fnr[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.fmax(np.log(1 - delta - fpr) - np.log(fnr), np.log(1 - delta - fnr) - np.log(fpr))
    eps = eps[~np.isnan(eps)]
    return float(max(eps.max(), 0.0)) if len(eps) else 0.0


def _example_epsilon(pos: np.ndarray, neg: np.ndarray, delta: float) -> float:
    ranges = sorted([np.ptp(pos), np.ptp(neg)])
    if ranges[1] > 0 and ranges[0] / ranges[1] < PEAKY_RATIO:
        return EPSILON_CAP  # one distribution is far peakier: the reference's shortcut to the worst case
    fpr_i, fnr_i = _interval_rates(pos, neg)
    fpr_s, fnr_s = _single_threshold_rates(pos, neg)
    eps = _epsilon_from_rates(np.concatenate([fpr_i, fpr_s]), np.concatenate([fnr_i, fnr_s]), delta)
    return min(eps, EPSILON_CAP)


def per_example_epsilon(
    unlearned_stats: np.ndarray, retrained_stats: np.ndarray, *, delta: float = DELTA
) -> np.ndarray:
    """Per-forget-example epsilon of the NeurIPS 2023 unlearning challenge, shape (n_forget,).

    ``unlearned_stats`` and ``retrained_stats`` are (N, n_forget): a statistic of each forget
    example under N unlearned and N retrained models (the challenge uses the logit-scaled
    confidence, :func:`logit_scaled_confidence`, and N = 512; this study uses N >= 8 on CPU).
    For each example, threshold attacks try to tell the two samples of N values apart; each
    attack's false positive and false negative rates give

        eps = max(log(1 - delta - FPR) - log(FNR), log(1 - delta - FNR) - log(FPR)),

    clipped at 0, and the example's epsilon is the max over attacks, clipped to [0, 50].

    Source, followed rule by rule: google-deepmind/unlearning_evaluation ``metric.py``
    (``_get_epsilons``): the positive class is whichever of the two has the larger median; two
    families of attacks on the reference's grid of 100 thresholds per unit: single thresholds
    ("positive iff s >= t") and intervals ("peakier distribution iff l <= s <= r"); FPR = FNR = 0
    gives inf (then the cap), rules with exactly one zero rate are discarded, and if one
    distribution's range is below 1% of the other's the example gets the cap outright. The rates
    are counted exactly by binary search rather than on a GPU. delta defaults to the reference's
    1e-5. The paper also names other attacks; the released code uses only these two families,
    and so do we (no logistic-regression attack). N >= 2 is required."""
    unlearned, retrained = check_stats(unlearned_stats, retrained_stats)
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1); got {delta!r}")
    retrain_is_positive = np.median(retrained, axis=0) > np.median(unlearned, axis=0)
    pos = np.where(retrain_is_positive, retrained, unlearned)
    neg = np.where(retrain_is_positive, unlearned, retrained)
    return np.array([_example_epsilon(pos[:, i], neg[:, i], delta) for i in range(pos.shape[1])])


def n_epsilon_bins(n_models: int) -> int:
    """Number of scored epsilon bins for N models: bins of width 0.5 up to ceil(log(N - 1)),
    the largest epsilon N samples per side can show (the reference's "back-of-the-envelope" bound).
    N = 8 gives 4 bins, N = 512 gives 14; N = 2 gives none."""
    if n_models < 2:
        raise ValueError(f"need N >= 2 models; got {n_models}")
    return int(math.ceil(math.log(n_models - 1)) / BUCKET_WIDTH)


def epsilon_score(eps: np.ndarray, *, n_models: int) -> np.ndarray:
    """Per-example score of the challenge: bin k = floor(eps / 0.5) (k = 0, 1, ...) scores
    2 / 2**(k + 1) = 2**-k, i.e. 1, 1/2, 1/4, ..., for the first :func:`n_epsilon_bins` bins, and
    0 beyond them (as in the reference's ``compute_forget_score_from_confs``; so the capped
    epsilon of a perfectly separable example scores 0, not the last bin's points)."""
    eps = np.asarray(eps, dtype=np.float64)
    if np.isnan(eps).any() or (eps < 0).any():
        raise ValueError(f"epsilons must be non-negative numbers, not NaN; got {eps[np.isnan(eps) | (eps < 0)][:5]}")
    n_bins = n_epsilon_bins(n_models)
    if n_bins == 0:
        raise ValueError(
            f"with N = {n_models} models there is no epsilon bin to score (ceil(log(N - 1)) = 0); use N >= 3"
        )
    k = np.floor(np.minimum(eps, EPSILON_CAP) / BUCKET_WIDTH)
    return np.where(k < n_bins, 2.0 ** -np.minimum(k, n_bins), 0.0)


def forget_score(unlearned_stats: np.ndarray, retrained_stats: np.ndarray, *, delta: float = DELTA) -> float:
    """The challenge's forgetting score F = mean over forget examples of :func:`epsilon_score`
    of :func:`per_example_epsilon`; in [0, 1], 1 = indistinguishable from retraining."""
    eps = per_example_epsilon(unlearned_stats, retrained_stats, delta=delta)
    return float(epsilon_score(eps, n_models=np.shape(unlearned_stats)[0]).mean())


def accuracy_ratio(unlearned_accs: np.ndarray, retrained_accs: np.ndarray) -> float:
    """mean(unlearned accuracies) / mean(retrained accuracies) over the N models of each, as the
    challenge's ``main.py`` computes the retain and test utility factors (no cap)."""
    unlearned, retrained = np.asarray(unlearned_accs, dtype=np.float64), np.asarray(retrained_accs, dtype=np.float64)
    if unlearned.size == 0 or retrained.size == 0:
        raise ValueError("accuracy_ratio needs at least one unlearned and one retrained accuracy")
    if retrained.mean() <= 0:
        raise ValueError(f"the retrained models' mean accuracy must be positive; got {retrained.mean()!r}")
    return float(unlearned.mean() / retrained.mean())


def forgetting_quality(
    unlearned_stats: np.ndarray,
    retrained_stats: np.ndarray,
    *,
    retain_acc_ratio: float,
    test_acc_ratio: float,
    delta: float = DELTA,
) -> float:
    """The challenge's final score: F * (RA_unlearned / RA_retrained) * (TA_unlearned / TA_retrained).

    F is :func:`forget_score`; the two ratios (see :func:`accuracy_ratio`) are passed in. As in
    google-deepmind/unlearning_evaluation ``main.py`` they are not capped, so a method more
    accurate than retraining can score above F."""
    for name, ratio in (("retain_acc_ratio", retain_acc_ratio), ("test_acc_ratio", test_acc_ratio)):
        if not np.isfinite(ratio) or ratio < 0:
            raise ValueError(f"{name} must be a non-negative, finite accuracy ratio; got {ratio!r}")
    return forget_score(unlearned_stats, retrained_stats, delta=delta) * float(retain_acc_ratio) * float(test_acc_ratio)

