"""The likelihood-ratio statistics on synthetic cases whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from unlearnlib.evaluation import lira


def _shadows(n_examples: int, n_shadows: int = 16, shift: float = 3.0, seed: int = 0):
    """Scores of shadow models (half "in" per example, in-scores shifted up by ``shift``) around
    each example's own base level, and that base level."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 2.0, n_examples)  # examples differ: the point of per-example fits
    membership = np.zeros((n_shadows, n_examples), dtype=bool)
    for j in range(n_examples):
        membership[rng.permutation(n_shadows)[: n_shadows // 2], j] = True
    scores = base + shift * membership + rng.normal(0.0, 1.0, membership.shape)
    return scores, membership, base


def test_logit_confidence_is_exact_and_finite_near_certainty():
    p = 1 - 1e-12
    expected = 12 * np.log(10) + np.log1p(-1e-12)  # log(p / (1 - p)) in exact arithmetic: 27.631...
    logits = np.array([[0.0, np.log(1e-12 / p)], [5.0, 5.0], [1000.0, -1000.0]])
    got = lira.logit_confidence(logits, np.array([0, 1, 0]))
    assert got[0] == pytest.approx(expected, abs=1e-9)
    assert got[1] == pytest.approx(0.0)
    assert got[2] == pytest.approx(2000.0)  # no cap: the reference's 1e-45 would stop at ~103.6
    from_probs = lira.logit_confidence(np.array([[p, 1 - p], [1.0, 0.0]]), np.array([0, 0]), logits=False)
    assert from_probs[0] == pytest.approx(expected, rel=1e-4) and np.isfinite(from_probs[1])
    three = np.array([[2.0, 1.0, 0.5]])
    p3 = np.exp(three) / np.exp(three).sum()
    assert lira.logit_confidence(three, np.array([1]))[0] == pytest.approx(np.log(p3[0, 1] / (1 - p3[0, 1])))
    with pytest.raises(ValueError, match="labels"):
        lira.logit_confidence(three, np.array([3]))


def test_a_model_that_memorized_a_set_is_found_and_one_that_never_saw_it_is_not():
    n = 4000
    scores, membership, base = _shadows(n)
    fits = lira.per_example_gaussians(scores, membership)
    assert (fits.n_in == 8).all() and not fits.pooled_in.any()
    rng = np.random.default_rng(1)
    members = lira.likelihood_ratio(base + 3.0 + rng.normal(0, 1, n), fits)  # a model that memorized the set
    unseen = lira.likelihood_ratio(base + rng.normal(0, 1, n), fits)  # one that never saw it
    labels = np.r_[np.ones(n), np.zeros(n)]
    assert lira.auc(np.r_[members, unseen], labels) > 0.95
    # the null: a second model that never saw the set, against the first
    other = lira.likelihood_ratio(base + rng.normal(0, 1, n), fits)
    null = np.r_[other, unseen]
    assert lira.auc(null, labels) == pytest.approx(0.5, abs=0.03)
    assert lira.tpr_at_fpr(null, labels, 0.01) == pytest.approx(0.01, abs=0.008)
    assert lira.flagged_share(null, labels, 0.01) == pytest.approx(0.01, abs=0.008)
    # offline: the out side alone still finds the memorized set
    offline = [lira.likelihood_ratio(s, fits, online=False) for s in (base + 3.0 + rng.normal(0, 1, n), base + rng.normal(0, 1, n))]
    assert lira.auc(np.concatenate(offline), labels) > 0.95


def test_per_example_fits_beat_a_global_threshold_when_examples_differ():
    """What per-example calibration buys: raw scores mix easy and hard examples, the ratio does not."""
    n = 3000
    scores, membership, base = _shadows(n, n_shadows=32, shift=1.0)
    fits = lira.per_example_gaussians(scores, membership)
    rng = np.random.default_rng(2)
    member, unseen = base + 1.0 + rng.normal(0, 1, n), base + rng.normal(0, 1, n)
    labels = np.r_[np.ones(n), np.zeros(n)]
    ratio = np.r_[lira.likelihood_ratio(member, fits), lira.likelihood_ratio(unseen, fits)]
    # raw: AUC about 0.61 (the per-example spread, sd 2, hides a shift of 1); the ideal test 0.76
    assert lira.auc(ratio, labels) > lira.auc(np.r_[member, unseen], labels) + 0.05
    assert np.abs(fits.mean_out - base).mean() < 0.5


def test_too_few_shadows_on_a_side_fall_back_to_the_pooled_sd():
    scores, membership, _ = _shadows(50, n_shadows=16)
    membership[:, 0] = False
    membership[:3, 0] = True  # example 0: 3 in, 13 out
    fits = lira.per_example_gaussians(scores, membership)
    assert fits.pooled_in[0] and not fits.pooled_in[1:].any() and not fits.pooled_out.any()
    assert fits.std_in[0] == pytest.approx(1.0, abs=0.2)  # the pooled within-example sd, not the between-example spread (~2)
    assert lira.per_example_gaussians(scores, membership, fixed_variance=True).pooled_out.all()
    membership[:, 1] = False
    with pytest.raises(ValueError, match=r"examples \[1\] have no 'in' shadow"):
        lira.per_example_gaussians(scores, membership)
    offline = lira.per_example_gaussians(scores, membership, need_in=False)
    assert np.isnan(offline.mean_in[1]) and np.isfinite(lira.likelihood_ratio(scores[0], offline, online=False)).all()
    with pytest.raises(ValueError, match="online test needs"):
        lira.likelihood_ratio(scores[0], offline)


def test_roc_and_auc_agree_with_sklearn_ties_included():
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=300), 1)  # many ties
    labels = (rng.random(300) < 0.4).astype(int)
    assert lira.auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    fpr, tpr = lira.roc(scores, labels)
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert np.allclose(fpr, ref_fpr) and np.allclose(tpr, ref_tpr)
    assert lira.tpr_at_fpr(scores, labels, 0.1) == pytest.approx(ref_tpr[ref_fpr <= 0.1].max())


def test_low_fpr_below_the_resolution_is_the_tpr_at_zero_false_positives():
    labels = np.r_[np.ones(10), np.zeros(50)]
    scores = np.r_[np.arange(10) + 100.0, np.arange(50.0)]  # positives all above every negative but none
    assert lira.tpr_at_fpr(scores, labels, 0.001) == 1.0
    scores[-1] = 1000.0  # one negative above every positive: 1/50 = 2 % FPR before any positive
    assert lira.tpr_at_fpr(scores, labels, 0.01) == 0.0 and lira.tpr_at_fpr(scores, labels, 0.02) == 1.0
    assert lira.flagged_share(scores, labels, 0.01) == 0.0 and lira.flagged_share(scores, labels, 0.02) == 1.0
    summary = lira.attack_summary(scores, labels)
    assert set(summary) == {"auc", "tpr_at_1pct", "tpr_at_0p1pct", "flagged_at_1pct"}
    with pytest.raises(ValueError, match="positives"):
        lira.auc(scores[labels == 0], labels[labels == 0])


def test_paired_interval_over_seeds():
    got = lira.paired_interval([0.9, 0.8, 0.85, 0.95, 0.9], [0.5, 0.52, 0.48, 0.5, 0.5])
    assert got["difference"] == pytest.approx(0.38) and got["ci_low"] > 0 and got["p_value"] < 0.01 and got["pairs"] == 5
    same = lira.paired_interval([0.5, 0.6], [0.5, 0.6])
    assert same["difference"] == 0 and same["p_value"] == 1.0
    assert np.isnan(lira.paired_interval([0.5], [0.4])["ci_low"])


def test_one_shadow_per_side_everywhere_is_refused_with_a_clear_error():
    scores = np.array([[1.0, 2.0, 3.0], [0.5, 0.2, 0.1]])
    membership = np.array([[True, True, True], [False, False, False]])
    with pytest.raises(ValueError, match="no example has two 'in' shadow scores"):
        lira.per_example_gaussians(scores, membership)
