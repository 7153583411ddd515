"""What the report says about each unlearning method, and the works it cites.

Declared here, not read from the algorithm modules (written when a method module's source digest
keyed its rows; since issue 31 a method declares its version, so these could move beside it).
Each description restates, in two sentences, what that module's docstring says (mechanism
and loss); each citation is the one the docstrings of ``unlearnlib`` give, no more (a venue
or a title the code does not state is left out). ``tests/test_html_report.py`` fails when a
registered method has no description, or an approximate one no reference.
"""
from __future__ import annotations

import html

from . import paper

# key -> the citation as the code's docstrings give it; this order is the list's numbering.
REFERENCES: dict[str, str] = {
    "nasirigerdeh2024": paper.CITATION,
    "tschandl2018": "Tschandl, Rosendahl & Kittler. HAM10000 (dermoscopy images). Sci. Data 5, 180161, 2018.",
    "yang2023": "Yang et al. MedMNIST v2 (2D datasets, BreastMNIST among them). Sci. Data 10, 41, 2023.",
    "jia2023": "Jia et al. \"Model Sparsity Can Simplify Machine Unlearning\". NeurIPS 2023.",
    "thudi2022": "Thudi et al. \"Unrolling SGD\". EuroS&P 2022.",
    "kurmanji2023": "Kurmanji et al. \"Towards Unbounded Machine Unlearning\" (SCRUB). NeurIPS 2023.",
    "golatkar2020": "Golatkar et al. \"Eternal Sunshine of the Spotless Net\". CVPR 2020.",
    "fan2024": "Fan et al. \"SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency\". ICLR 2024.",
    "chundawat2023": "Chundawat et al. \"Can Bad Teaching Induce Forgetting?\". AAAI 2023.",
    "foster2024": ("Foster et al. \"Fast Machine Unlearning Without Retraining Through Selective Synaptic Dampening\". "
                   "AAAI 2024."),
    "chen2023": "Chen et al. \"Boundary Unlearning\". CVPR 2023.",
    "feldman2020": "Feldman & Zhang. \"What Neural Networks Memorize and Why\". NeurIPS 2020.",
    "challenge2023": ("NeurIPS 2023 Machine Unlearning Challenge: its starting kit (unlearning-challenge/starting-kit, "
                      "the loss attack) and scoring code (google-deepmind/unlearning_evaluation, forgetting quality)."),
    "triantafillou2024": ("Triantafillou et al. \"Are we making progress in unlearning? Findings from the first NeurIPS "
                          "unlearning competition\". arXiv:2406.09073, 2024."),
    "siddiqui2025": ("Siddiqui, Weller, Krueger, Dziugaite, Mozer & Triantafillou. \"From Dormant to Deleted: "
                     "Tamper-Resistant Unlearning Through Weight-Space Regularization\". arXiv:2505.22310, NeurIPS 2025."),
}

# The two rows every table starts from; they are not unlearning methods from a paper.
BASELINES = ("original", "retrain")

# method -> (two sentences from its module's docstring, the references it rests on)
METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "original": ("The original model, trained once per seed on the whole training split, left unchanged. "
                 "It is what doing nothing gives, the reference row of every table.", ()),
    "retrain": ("Retraining from scratch on the retain set, with the original's recipe, from a fresh initialisation. "
                "It is exact unlearning: the gold standard every method is measured against.", ()),
    "finetune": ("Fine-tuning (FT) continues training the original on the retain set only, so that the forget set's "
                 "influence fades (catastrophic forgetting). Loss: CE(retain), a few epochs at a smaller learning rate "
                 "than the original recipe.", ("jia2023",)),
    "gradient_ascent": ("Gradient ascent (GA, also called NegGrad) climbs the loss on the forget set, with SGD as in the "
                        "Unlearn-Sparse and SalUn code. Loss: -CE(forget).", ("thudi2022", "jia2023", "fan2024")),
    "neggrad_plus": ("NegGrad+ descends on the retain set while ascending on the forget set, the two weighted by alpha. "
                     "Loss: alpha (CE(retain) + an l2 pull towards the starting weights) - (1 - alpha) CE(forget).",
                     ("kurmanji2023",)),
    "random_label": ("Random labels (RL) trains on the retain set together with the forget set relabelled uniformly at "
                     "random, the labels redrawn each epoch, so the model unlearns the forget images' true labels. "
                     "Loss: CE(retain) + CE(forget, random labels), as in SalUn's code.", ("golatkar2020", "fan2024")),
    "l1_sparse": ("l1-sparse fine-tunes on the retain set with an l1 penalty whose weight decays linearly to zero, "
                  "pushing the model towards sparsity, which eases unlearning. Loss: CE(retain) + alpha_t ||theta||_1, "
                  "alpha_t = alpha (1 - t / T).", ("jia2023",)),
    "salun": ("SalUn runs random-label unlearning on the weights most salient for the forget set only: the top half of "
              "all weights by the magnitude of the forget loss's gradient, one global threshold. The other weights' "
              "gradients are masked to zero.", ("fan2024",)),
    "scrub": ("SCRUB trains a student, starting as the original, to move away from the original teacher on the forget "
              "set (max steps) and stay close to it on the retain set (min steps). Max step: -KL(teacher || student) on "
              "forget; min step: gamma CE(retain) + alpha KL(teacher || student) on retain.", ("kurmanji2023",)),
    "bad_teacher": ("Bad Teacher distils the model from the competent original on retain images and from a randomly "
                    "initialised, incompetent teacher on forget images. Loss: KL(teacher || student), the teacher "
                    "chosen by whether the image is to be forgotten.", ("chundawat2023",)),
    "ssd": ("Selective Synaptic Dampening (SSD) shrinks, without any training, the weights that matter far more to the "
            "forget set than to the training data. Where the forget importance (mean squared gradient) exceeds alpha "
            "times the training importance, theta is multiplied by min(lambda I_train / I_forget, 1).", ("foster2024",)),
    "fisher": ("Fisher forgetting adds Gaussian noise to each weight, scaled by the inverse of the retain set's Fisher "
               "information, so that weights the retain set does not need are randomised. The variance is "
               "alpha min(1 / F_retain, 1e3), from a diagonal Fisher computed exactly on a random retain subset.",
               ("golatkar2020",)),
    "boundary_shrink": ("Boundary Shrink relabels each forget image with the class that one FGSM step on the original "
                        "lands in, then fine-tunes the forget set towards those labels, shrinking the decision boundary "
                        "around it. Loss: CE(forget, argmax original(x + 0.1 sign grad_x CE)).", ("chen2023",)),
}


def reference_number(key: str) -> int:
    """The number ``key`` has in the references list (1-based)."""
    try:
        return list(REFERENCES).index(key) + 1
    except ValueError:
        raise KeyError(f"unknown reference {key!r}; declared: {', '.join(REFERENCES)}") from None


def cite(*keys: str) -> str:
    """In-text citation, e.g. ``[3, 7]``, each number a link to its entry."""
    links = ", ".join(f"<a href='#ref-{key}'>{reference_number(key)}</a>" for key in keys)
    return f"<span class='cite'>[{links}]</span>"


def describe(method: str) -> tuple[str, tuple[str, ...]]:
    """A registered method's description and reference keys; a missing one is an error that says where to add it."""
    try:
        return METHODS[method]
    except KeyError:
        raise KeyError(f"method {method!r} has no description for the report: add it to "
                       f"unlearnlib.report.html_references.METHODS (two sentences and its references)") from None


def methods_table(methods: tuple[str, ...]) -> str:
    """One row per method (registry order): its name, description and references."""
    rows = []
    for name in methods:
        text, keys = describe(name)
        rows.append(f"<tr id='method-{name}'><td><code>{html.escape(name)}</code></td><td>{html.escape(text)}</td>"
                    f"<td>{cite(*keys) if keys else '-'}</td></tr>")
    head = "<tr><th>method</th><th>what it does</th><th>reference</th></tr>"
    return f"<table class='methods'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def references_html() -> str:
    """The numbered references list."""
    items = "".join(f"<li id='ref-{key}'>{html.escape(text)}</li>" for key, text in REFERENCES.items())
    return f"<ol class='references'>{items}</ol>"
