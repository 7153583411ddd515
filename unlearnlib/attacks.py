"""Membership-inference attacks and the NeurIPS 2023 forgetting-quality score.

Pure functions: arrays in, numbers out; every random choice takes a seed.

- :func:`mia_efficacy`: SalUn's SVC attack on the true-class confidence (Fan et al., ICLR 2024;
  OPTML-Group/Unlearn-Saliency, ``Classification/evaluation/SVC_MIA.py``, the "confidence" entry
  of ``SVC_MIA_forget_efficacy`` as called in ``main_forget.py``).
- :func:`loss_attack`: the simple loss-based attack of the NeurIPS 2023 Machine Unlearning
  Challenge starting kit (unlearning-challenge/starting-kit, ``unlearning-CIFAR10.ipynb``).
- :func:`per_example_epsilon`, :func:`epsilon_score`, :func:`forget_score`,
  :func:`forgetting_quality`: the challenge's scoring (Triantafillou et al. 2024, "Are we making
  progress in unlearning? Findings from the first NeurIPS unlearning competition",
  arXiv:2406.09073), following its released code, google-deepmind/unlearning_evaluation
  ``metric.py`` (``compute_forget_score_from_confs``) and ``main.py`` (final score).
- :func:`relative_forgetting_quality`: the method's score over the score of a second, independent
  set of retrained models (the ceiling at this N), with a delete-d jackknife interval over models.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit, cross_val_score
from sklearn.svm import SVC

# Constants of google-deepmind/unlearning_evaluation metric.py.
DELTA = 1e-5  # the delta of (epsilon, delta)-unlearning used by the challenge's scoring
EPSILON_CAP = 50.0  # epsilons are clipped to [0, EPSILON_CAP]; perfect separation gives the cap
THRESHOLDS_PER_UNIT = 100  # threshold grid density, per unit of the statistic
THRESHOLD_BUFFER = 2.0  # how far the interval-rule grid reaches around the peakier distribution
BUCKET_WIDTH = 0.5  # epsilon bins of width 0.5 score 1, 1/2, 1/4, ...
PEAKY_RATIO = 0.01  # one distribution's range under 1% of the other's: epsilon = EPSILON_CAP
MIN_FQ_MODELS = 4  # per set, so that the interval's subsets keep >= 3 models (the epsilon bins need 3) and leave one out
MIN_LOSS_ATTACK_SAMPLES = 10  # per set, so that every StratifiedShuffleSplit test fold holds both sets


# ----------------------------------------------------------------------------- statistics


def _check_logits(logits: np.ndarray, labels: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"{name} logits must be 2-D (samples, classes); got shape {logits.shape}")
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"{name} labels must have shape ({logits.shape[0]},) to match the logits; got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} labels must be integer class indices; got dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(
            f"{name} labels must lie in [0, {logits.shape[1]}); got range [{labels.min()}, {labels.max()}]"
        )
    return logits, labels


def true_class_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax probability of the true class, p_y = exp(z_y - logsumexp(z)) (stable for any logits)."""
    logits, labels = _check_logits(logits, labels, "the")
    rows = np.arange(len(labels))
    return np.exp(logits[rows, labels] - logsumexp(logits, axis=1))


def logit_scaled_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The challenge's per-example statistic: log p_y - log(1 - p_y) = z_y - logsumexp_{k != y} z_k.

    Source: ``compute_logit_scaled_confidence`` in google-deepmind/unlearning_evaluation
    ``metric.py`` (after LiRA). The reference adds 1e-45 inside both logs, which caps it near
    +-103.6; this exact form has no cap."""
    logits, labels = _check_logits(logits, labels, "the")
    if logits.shape[1] < 2:
        raise ValueError(f"logit-scaled confidence needs at least two classes; got {logits.shape[1]}")
    rows = np.arange(len(labels))
    others = logits.copy()
    others[rows, labels] = -np.inf
    return logits[rows, labels] - logsumexp(others, axis=1)


# ----------------------------------------------------------------------------- simple attacks


def _balance(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Subsample the larger of two 1-D arrays, without replacement, to the size of the smaller."""
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b))
    if len(a) > n:
        a = a[np.sort(rng.choice(len(a), size=n, replace=False))]
    if len(b) > n:
        b = b[np.sort(rng.choice(len(b), size=n, replace=False))]
    return a, b


def mia_efficacy(
    retain_logits: np.ndarray,
    retain_labels: np.ndarray,
    test_logits: np.ndarray,
    test_labels: np.ndarray,
    forget_logits: np.ndarray,
    forget_labels: np.ndarray,
    *,
    seed: int = 0,
) -> float:
    """MIA-efficacy (SalUn; Jia et al. 2023, "Model sparsity can simplify machine unlearning", App. C.3).

    An RBF SVC, ``SVC(C=3, gamma="auto", kernel="rbf")``, learns member (retain, label 1) versus
    non-member (test, label 0) from the true-class confidence p_y; MIA-efficacy is the share of
    forget samples it predicts non-member: mean(SVC(p_y(forget)) == 0). Higher = more forgotten.

    Source: OPTML-Group/Unlearn-Saliency ``Classification/evaluation/SVC_MIA.py`` (``SVC_fit_predict``
    on ``*_conf``; with ``target_train=None`` the score is ``1 - mean(predict(forget))``).
    Choice: SalUn takes the *first* len(test) retain samples; here the larger of retain and test is
    subsampled at random (``seed``) to the size of the smaller, so neither set dominates."""
    member = true_class_confidence(*_check_logits(retain_logits, retain_labels, "retain"))
    non_member = true_class_confidence(*_check_logits(test_logits, test_labels, "test"))
    target = true_class_confidence(*_check_logits(forget_logits, forget_labels, "forget"))
    for name, values in (("retain", member), ("test", non_member), ("forget", target)):
        if len(values) == 0:
            raise ValueError(f"the {name} set is empty; MIA-efficacy needs retain, test and forget samples")
    member, non_member = _balance(member, non_member, seed)
    x = np.concatenate([member, non_member])[:, None]
    y = np.concatenate([np.ones(len(member), dtype=int), np.zeros(len(non_member), dtype=int)])
    attacker = SVC(C=3, gamma="auto", kernel="rbf").fit(x, y)
    return float(np.mean(attacker.predict(target[:, None]) == 0))


def loss_attack(forget_losses: np.ndarray, test_losses: np.ndarray, *, n_splits: int = 10, seed: int = 0) -> float:
    """The NeurIPS 2023 unlearning challenge starting kit's simple MIA: logistic regression on the
    per-sample loss, forget (label 1) versus test (label 0), cross-validated with
    ``StratifiedShuffleSplit(n_splits, random_state=seed)`` (10% test folds); returns the mean CV
    accuracy. 0.5 = the attacker cannot tell forget from unseen data; 1.0 = it always can.

    Source: unlearning-challenge/starting-kit ``unlearning-CIFAR10.ipynb`` (``simple_mia``, whose
    defaults ``n_splits=10, random_state=0`` are kept). Choice: the kit shuffles the forget losses
    with the global NumPy RNG and cuts them to len(test); here the larger set, either one, is
    subsampled with ``seed``."""
    forget = np.asarray(forget_losses, dtype=np.float64).reshape(-1)
    test = np.asarray(test_losses, dtype=np.float64).reshape(-1)
    if not (np.isfinite(forget).all() and np.isfinite(test).all()):
        raise ValueError("losses must be finite; got NaN or inf in the forget or test losses")
    if min(len(forget), len(test)) < MIN_LOSS_ATTACK_SAMPLES:
        raise ValueError(
            f"loss_attack needs at least {MIN_LOSS_ATTACK_SAMPLES} forget and test losses; "
            f"got {len(forget)} and {len(test)}"
        )
    forget, test = _balance(forget, test, seed)
    x = np.concatenate([test, forget])[:, None]
    y = np.concatenate([np.zeros(len(test), dtype=int), np.ones(len(forget), dtype=int)])
    cv = StratifiedShuffleSplit(n_splits=n_splits, random_state=seed)
    return float(cross_val_score(LogisticRegression(), x, y, cv=cv, scoring="accuracy").mean())


# ----------------------------------------------------------------------------- forgetting quality


def _check_stats(unlearned_stats: np.ndarray, retrained_stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    unlearned, retrained = _check_stats(unlearned_stats, retrained_stats)
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


# ----------------------------------------------------------------------------- vectorized epsilons
# per_example_epsilon counts each threshold rule with binary search: 400 x 400 interval rules per
# example, about 12 s for 32 models x 700 examples, too slow to bootstrap. The same rules are
# counted here without enumerating them: a rule's rates depend only on which gap between the
# sorted pooled values each threshold falls in, so it is enough to know, per gap, whether the
# reference grid puts a threshold there. The result is identical (tested against the loop).


def _grid_count_le(x: np.ndarray, start: np.ndarray, stop: np.ndarray, num: np.ndarray) -> np.ndarray:
    """How many points of np.linspace(start, stop, num) are <= x, elementwise (broadcast).

    Exact: numpy builds point j < num - 1 as j * step + start and sets the last to ``stop``;
    the estimate floor((x - start) / step) is corrected with that very arithmetic."""
    num = np.asarray(num)
    interior = np.maximum(num - 1, 0)  # points built as j * step + start
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (stop - start) / np.maximum(num - 1, 1)
        j = np.floor((x - start) / step) + 1
    j = np.clip(np.nan_to_num(j, nan=0.0, posinf=0.0, neginf=0.0), 0, interior)
    j = np.where((j < interior) & (j * step + start <= x), j + 1, j)
    j = np.where((j > 0) & ((j - 1) * step + start > x), j - 1, j)
    count = np.where(num > 1, j + (stop <= x), 0)
    return np.where(num == 1, start <= x, count).astype(np.int64)


def _rate_tables(n: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Epsilon of every rule outcome, as _epsilon_from_rates scores it: +inf for FPR = FNR = 0,
    -inf for a discarded rule. Single thresholds are indexed by (#pos < t, #neg < t), intervals
    by (#peakier inside, #other inside); the rates are formed as the reference forms them."""
    counts = np.arange(n + 1)
    a, b = np.meshgrid(counts, counts, indexing="ij")
    single = (1.0 - b / n, 1.0 - (1.0 - a / n))  # (FPR, FNR)
    interval = (b / n, 1.0 - a / n)
    tables = []
    for fpr, fnr in (single, interval):
        with np.errstate(divide="ignore", invalid="ignore"):
            eps = np.fmax(np.log(1 - delta - fpr) - np.log(fnr), np.log(1 - delta - fnr) - np.log(fpr))
        eps = np.where(np.isnan(eps) | ((fpr > 0) != (fnr > 0)), -np.inf, eps)
        tables.append(np.where((fpr == 0) & (fnr == 0), np.inf, eps))
    return tables[0], tables[1]


def _pooled(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: the sorted pooled values (2N, E) and cumulative counts of each set among the
    first k of them, k = 0..2N (2N + 1, E)."""
    values = np.concatenate([first, second])
    order = np.argsort(values, axis=0, kind="stable")
    from_first = np.take_along_axis(np.arange(len(values))[:, None] < len(first), order, axis=0)
    zero = np.zeros((1, values.shape[1]), dtype=np.int64)
    cum_first = np.concatenate([zero, np.cumsum(from_first, axis=0)])
    cum_second = np.concatenate([zero, np.cumsum(~from_first, axis=0)])
    return np.take_along_axis(values, order, axis=0), cum_first, cum_second


def _gaps_hit(count_le: np.ndarray, total) -> np.ndarray:
    """Which of the 2N + 1 gaps (-inf, v0], (v0, v1], ..., (v_last, inf) between the sorted pooled
    values hold a grid point, from the count of grid points <= each value (last axis)."""
    last = np.broadcast_to(total, count_le[..., :1].shape)
    counts = np.concatenate([np.zeros_like(count_le[..., :1]), count_le, last], axis=-1)
    return np.diff(counts, axis=-1) > 0


def _single_threshold_best(pos: np.ndarray, neg: np.ndarray, table: np.ndarray) -> np.ndarray:
    values, cum_pos, cum_neg = _pooled(pos, neg)
    lo, hi = values[0], values[-1]
    num = np.ceil((hi - lo) * THRESHOLDS_PER_UNIT).astype(np.int64)
    count_le = _grid_count_le(values, lo, hi, num)  # (2N, E)
    hit = _gaps_hit(count_le.T, num[:, None]).T  # (2N + 1, E)
    return np.where(hit, table[cum_pos, cum_neg], -np.inf).max(axis=0, initial=-np.inf)


def _interval_best(pos: np.ndarray, neg: np.ndarray, table: np.ndarray) -> np.ndarray:
    width = np.minimum(np.ptp(pos, axis=0), np.ptp(neg, axis=0))
    swap = np.ptp(pos, axis=0) >= np.ptp(neg, axis=0)  # the rule's positive class is the peakier one
    peaky, other = np.where(swap, neg, pos), np.where(swap, pos, neg)
    lo, hi = peaky.min(axis=0) + width - THRESHOLD_BUFFER, peaky.max(axis=0) + THRESHOLD_BUFFER
    num = np.ceil((hi - lo) * THRESHOLDS_PER_UNIT).astype(np.int64)
    values, cum_peaky, cum_other = _pooled(peaky, other)  # (2N, E), (2N + 1, E)
    # right ends r_i of the reference grid, as np.linspace builds them; padded columns are masked
    i = np.arange(num.max())[:, None]
    step = (hi - lo) / np.maximum(num - 1, 1)
    right = np.where((i == num - 1) & (num > 1), hi, i * step + lo)  # (R, E)
    valid = i < num
    n_left = int(math.ceil(2 * THRESHOLD_BUFFER * THRESHOLDS_PER_UNIT))
    start, stop = right - width - THRESHOLD_BUFFER, right - width + THRESHOLD_BUFFER
    # per right end: how many pooled values lie <= r (its counts), and which gaps hold a left end
    at_most_right = (values.T[:, None, :] <= right.T[:, :, None]).sum(axis=-1)  # (E, R)
    count_le = _grid_count_le(values.T[:, None, :], start.T[:, :, None], stop.T[:, :, None], n_left)  # (E, R, 2N)
    hit = _gaps_hit(count_le, np.int64(n_left)) & valid.T[:, :, None]  # (E, R, 2N + 1)
    columns = np.arange(values.shape[1])[:, None]
    peaky_right, other_right = cum_peaky.T[columns, at_most_right], cum_other.T[columns, at_most_right]  # (E, R)
    peaky_in = np.maximum(peaky_right[:, :, None] - cum_peaky.T[:, None, :], 0)
    other_in = np.maximum(other_right[:, :, None] - cum_other.T[:, None, :], 0)
    return np.where(hit, table[peaky_in, other_in], -np.inf).max(axis=(1, 2), initial=-np.inf)  # no grid point: no rule


def per_example_epsilon_fast(
    unlearned_stats: np.ndarray, retrained_stats: np.ndarray, *, delta: float = DELTA, chunk: int = 32
) -> np.ndarray:
    """:func:`per_example_epsilon`, the same numbers, vectorized over examples (``chunk`` at a
    time): about 0.3 s instead of 12 s for 32 models x 700 examples."""
    unlearned, retrained = _check_stats(unlearned_stats, retrained_stats)
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1); got {delta!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of examples; got {chunk!r}")
    n = unlearned.shape[0]
    single_table, interval_table = _rate_tables(n, delta)
    retrain_is_positive = np.median(retrained, axis=0) > np.median(unlearned, axis=0)
    pos = np.where(retrain_is_positive, retrained, unlearned)
    neg = np.where(retrain_is_positive, unlearned, retrained)
    eps = np.empty(pos.shape[1])
    for begin in range(0, pos.shape[1], chunk):
        p, q = pos[:, begin : begin + chunk], neg[:, begin : begin + chunk]
        best = np.maximum(_single_threshold_best(p, q, single_table), _interval_best(p, q, interval_table))
        eps[begin : begin + chunk] = best
    eps = np.clip(eps, 0.0, EPSILON_CAP)  # no surviving rule: 0; perfect separation (inf): the cap
    ranges = np.sort(np.stack([np.ptp(pos, axis=0), np.ptp(neg, axis=0)]), axis=0)
    ratio = np.divide(ranges[0], ranges[1], out=np.ones_like(ranges[0]), where=ranges[1] > 0)
    peaky = (ranges[1] > 0) & (ratio < PEAKY_RATIO)  # the reference's shortcut, as in _example_epsilon
    eps[peaky] = EPSILON_CAP
    return eps


# ----------------------------------------------------------------------------- relative forgetting quality


@dataclass(frozen=True)
class RelativeForgettingQuality:
    """A method's forgetting quality against retraining's own, with a bootstrap interval.

    ``score``: the method's models against the retrained ones; ``ceiling``: a second, independent
    set of retrained models against the same retrained ones (what a perfect method scores at this
    N); ``relative_to_retrain`` = score / ceiling (1 = as good as retraining; NaN when the ceiling
    is 0); ``ci_low``, ``ci_high``: percentile bootstrap interval of the ratio over models;
    ``identical_models``: the method's models all gave the same statistics (a deterministic
    method); ``note`` says why a number is NaN or how to read it."""

    score: float
    ceiling: float
    relative_to_retrain: float
    ci_low: float
    ci_high: float
    n_models: int
    n_boot: int
    identical_models: bool
    note: str

    def as_record(self) -> dict:
        return asdict(self)


def _model_accs(accs, n: int, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if accs is None:
        return None
    if len(accs) != 2:
        raise ValueError(f"{name} must be (retain accuracies, test accuracies); got {len(accs)} arrays")
    retain, test = (np.asarray(a, dtype=np.float64).reshape(-1) for a in accs)
    if len(retain) != n or len(test) != n:
        raise ValueError(f"{name} needs one retain and one test accuracy per model ({n}); got {len(retain)} and {len(test)}")
    return retain, test


def _quality(stats: np.ndarray, against: np.ndarray, accs, against_accs, delta: float) -> float:
    """F (and, given accuracies, F x retain ratio x test ratio) of one bootstrap draw or the data."""
    f = float(epsilon_score(per_example_epsilon_fast(stats, against, delta=delta), n_models=len(stats)).mean())
    if accs is None:
        return f
    return f * (accs[0].mean() / against_accs[0].mean()) * (accs[1].mean() / against_accs[1].mean())


def relative_forgetting_quality(
    unlearned: np.ndarray,
    retrained: np.ndarray,
    reference: np.ndarray,
    *,
    unlearned_accs: tuple[np.ndarray, np.ndarray] | None = None,
    retrained_accs: tuple[np.ndarray, np.ndarray] | None = None,
    reference_accs: tuple[np.ndarray, np.ndarray] | None = None,
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    delta: float = DELTA,
) -> RelativeForgettingQuality:
    """The method's forgetting quality relative to retraining's, with a bootstrap interval over models.

    ``unlearned``, ``retrained``, ``reference``: (N, n_forget) statistics (:func:`logit_scaled_confidence`)
    of the method's N models, of N retrained models and of N more retrained models, independent of
    the first (other initialization seeds). ``score`` compares unlearned with retrained,
    ``ceiling`` reference with retrained; both are :func:`forget_score` F, or, when the three
    ``*_accs`` pairs (retain accuracies, test accuracies; one per model) are given, the challenge's
    :func:`forgetting_quality` F x retain ratio x test ratio. F of two samples of one distribution
    is well below 1 at small N (about 0.19 at N = 8 and 32), so the ratio is what reads as "how
    close to retraining": 1 = as good as retraining, 0 = every forget example perfectly separable.

    The interval: a delete-d jackknife over models (Shao & Wu 1989, the variant that holds for
    non-smooth statistics such as these threshold-based epsilons). ``n_boot`` times, half of the
    models of each set are drawn without replacement (the retrained half is shared by score and
    ceiling, so its noise largely cancels; accuracies follow their models), both scores and their
    ratio are recomputed, and the ratio's variance is estimated as ``m / (N - m)`` times the
    variance of these half-sample ratios (m = N // 2 models kept, at least 3). The interval is the
    estimate +- the normal quantile at ``level`` times that sd, cut at 0. Why not the usual
    bootstrap with replacement: a resample repeats models, and repeated models are easier to
    separate. On simulated sets of N = 32 (``benchmarks/fq_interval_simulation.py``) its ratios
    averaged 0.292 against an estimate of 0.192 (percentile intervals excluded their own estimate,
    as happened on the ledger's BreastMNIST rows) and spread with sd 0.037 against the estimate's
    0.020 over fresh draws. Half-samples have no repeats: their 95 % intervals covered the
    estimate's expected value in 9 of 10 fresh draws, with an implied sd of 0.033, so they are wide
    rather than narrow. The half-sample ratios themselves are higher than the estimate (scores rise
    at smaller N): only their spread is used. Replicates whose ceiling is 0 are left out (the note
    says how many).

    Identical models (a deterministic method: all N rows of ``unlearned`` equal): the method's
    statistic is a point mass, which the challenge's attacks separate perfectly from the spread
    of retrained models (the interval rule, or the rule that a distribution with under 1 % of the
    other's range gets the capped epsilon), so every forget example gets the capped epsilon, the
    score is 0 and the relative score is 0 with interval [0, 0]. That is the right verdict under
    the challenge's threat model (an attacker who knows the algorithm recognises its exact output)
    but it does not say how far that output is from retraining's: read it as "not randomized,
    hence distinguishable", not as "forgets worst", and judge the method by its distance to retrain.

    A zero ceiling (independent retrains already perfectly separable at this N) makes the ratio
    undefined: ``relative_to_retrain`` is NaN and the note says so."""
    unlearned, retrained = _check_stats(unlearned, retrained)
    reference, _ = _check_stats(reference, retrained)
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of bootstrap replicates; got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    n = unlearned.shape[0]
    if n < MIN_FQ_MODELS:
        raise ValueError(f"the interval needs N >= {MIN_FQ_MODELS} models per set (subsets of >= 3 that leave one out); got N = {n}")
    given = [a is not None for a in (unlearned_accs, retrained_accs, reference_accs)]
    if any(given) and not all(given):
        raise ValueError("pass all three of unlearned_accs, retrained_accs, reference_accs, or none")
    accs = [_model_accs(a, n, name) for a, name in ((unlearned_accs, "unlearned_accs"), (retrained_accs, "retrained_accs"), (reference_accs, "reference_accs"))]

    def scores(iu, ir, iref) -> tuple[float, float]:
        pick = lambda a, i: None if a is None else (a[0][i], a[1][i])  # noqa: E731
        r, r_accs = retrained[ir], pick(accs[1], ir)
        return (_quality(unlearned[iu], r, pick(accs[0], iu), r_accs, delta),
                _quality(reference[iref], r, pick(accs[2], iref), r_accs, delta))

    every = np.arange(n)
    score, ceiling = scores(every, every, every)
    rng = np.random.default_rng(seed)
    kept = max(3, n // 2)  # the epsilon bins need >= 3 models
    ratios = np.empty(n_boot)
    for b in range(n_boot):
        s, c = scores(*(np.sort(rng.permutation(n)[:kept]) for _ in range(3)))
        ratios[b] = s / c if c > 0 else np.nan
    notes = []
    identical = bool(np.all(unlearned == unlearned[0]))
    if identical:
        notes.append("the method's models are identical (deterministic): a point mass is perfectly "
                     "separable from retraining's spread, so the score is 0 by construction")
    if ceiling > 0:
        relative = score / ceiling
    else:
        relative = math.nan
        notes.append(f"the ceiling (independent retrains) is 0 at N = {n}: the ratio is undefined")
    finite = ratios[np.isfinite(ratios)]
    if len(finite) < n_boot:
        notes.append(f"{n_boot - len(finite)} of {n_boot} half-sample replicates had a zero ceiling and were left out")
    if len(finite) >= 2 and math.isfinite(relative):
        sd = math.sqrt(kept / (n - kept) * float(np.var(finite, ddof=1)))
        half_width = NormalDist().inv_cdf((1 + level) / 2) * sd
        low, high = max(0.0, relative - half_width), relative + half_width
    else:
        low = high = math.nan
    return RelativeForgettingQuality(float(score), float(ceiling), float(relative), float(low), float(high),
                                     n, n_boot, identical, "; ".join(notes))
