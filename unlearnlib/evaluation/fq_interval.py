"""The forgetting quality relative to retraining's own, with a half-sample (delete-d jackknife)
interval over models, and the vectorized per-example epsilons that make the interval affordable.

- :func:`per_example_epsilon_fast`: :func:`unlearnlib.evaluation.fq.per_example_epsilon`, the same numbers,
  vectorized over examples.
- :func:`relative_forgetting_quality`: the method's score over the score of a second, independent
  set of retrained models (the ceiling at this N), with a delete-d jackknife interval over models.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from .fq import DELTA, EPSILON_CAP, MIN_FQ_MODELS, PEAKY_RATIO, THRESHOLD_BUFFER, THRESHOLDS_PER_UNIT, check_stats, epsilon_score

# ----------------------------------------------------------------------------- vectorized epsilons
# per_example_epsilon counts each threshold rule with binary search: 400 x 400 interval rules per
# example, about 12 s for 32 models x 700 examples, too slow to repeat per replicate. The same rules are
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
    unlearned, retrained = check_stats(unlearned_stats, retrained_stats)
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
    """A method's forgetting quality against retraining's own, with a half-sample interval.

    ``score``: the method's models against the retrained ones; ``ceiling``: a second, independent
    set of retrained models against the same retrained ones (what a perfect method scores at this
    N); ``relative_to_retrain`` = score / ceiling (1 = as good as retraining; NaN when the ceiling
    is 0); ``ci_low``, ``ci_high``: the ratio's interval over models from a delete-d jackknife on
    half-samples (normal, cut at 0; see :func:`relative_forgetting_quality`); ``n_boot``: its replicates;
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
    """F (and, given accuracies, F x retain ratio x test ratio) of one half-sample replicate or of all models."""
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
    """The method's forgetting quality relative to retraining's, with a half-sample interval over models.

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
    unlearned, retrained = check_stats(unlearned, retrained)
    reference, _ = check_stats(reference, retrained)
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive number of half-sample replicates; got {n_boot!r}")
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
