"""The paper this study reproduces, as plain data: its setting and its five findings.

Nasirigerdeh, Razmi, Schnabel, Rueckert & Kaissis, "Machine Unlearning for Medical
Imaging" (2024). Each finding names the notebook that tests it; the HTML report
(``unlearnlib.html_report``) puts the verdict that notebook displays beside the claim.
"""
from __future__ import annotations

CITATION = ("R. Nasirigerdeh, N. Razmi, J. A. Schnabel, D. Rueckert, G. Kaissis. "
            "Machine Unlearning for Medical Imaging. 2024.")

# Secondary accounts of the paper agree on its datasets; this study uses what the offline mirror holds.
SETTING = {
    "paper": "TissueMNIST and CheXpert, ResNet classifiers (as two secondary accounts report)",
    "study": "HAM10000 dermoscopy (split by lesion) and BreastMNIST, offline; a small timm ResNet (see README, Profiles)",
}

FINDINGS: list[dict[str, str]] = [
    {
        "key": "retain_forget",
        "finding": "Retain / forget performance",
        "claim": "Methods differ widely; none matches retraining on every metric.",
        "notebook": "02",
    },
    {
        "key": "sex_bias",
        "finding": "Sex bias",
        "claim": "Unlearning shows no sex bias: forgetting male or female patients costs the same.",
        "notebook": "04",
    },
    {
        "key": "forget_size",
        "finding": "Forget-set size",
        "claim": "Generalization (test accuracy) drops for large forget sets.",
        "notebook": "03",
    },
    {
        "key": "difficulty",
        "finding": "Hard samples",
        "claim": "Unlearning is harder on hard samples than on easy ones.",
        "notebook": "05",
    },
    {
        "key": "tuning_cost",
        "finding": "Hyper-parameter tuning",
        "claim": "Tuning the methods' hyper-parameters costs a lot of compute.",
        "notebook": "06",
    },
]
