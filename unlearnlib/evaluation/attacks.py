"""Membership-inference attacks: can an attacker tell the forget set from data the model never saw?

Pure functions: arrays in, numbers out; every random choice takes a seed.

- :func:`mia_efficacy`: SalUn's SVC attack on the true-class confidence (Fan et al., ICLR 2024;
  OPTML-Group/Unlearn-Saliency, ``Classification/evaluation/SVC_MIA.py``, the "confidence" entry
  of ``SVC_MIA_forget_efficacy`` as called in ``main_forget.py``).
- :func:`loss_attack`: the simple loss-based attack of the NeurIPS 2023 Machine Unlearning
  Challenge starting kit (unlearning-challenge/starting-kit, ``unlearning-CIFAR10.ipynb``).
- :func:`logit_scaled_confidence`: the per-example statistic of the challenge's forgetting
  quality (scored in :mod:`unlearnlib.evaluation.fq`).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit, cross_val_score
from sklearn.svm import SVC

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

