"""The README's findings are generated from the committed outputs and never drift from them."""
from pathlib import Path

import pandas as pd
import pytest

from unlearnlib.report import readme_findings

ROOT = Path(__file__).resolve().parents[1]


def test_committed_readme_block_is_what_the_committed_outputs_give():
    from unlearnlib.execution.plan import make_plan

    pending = [need for need in make_plan("cpu", ledger_root=ROOT / "data" / "ledger").needs if need.pending]
    if pending:  # the committed outputs are rendered again (and this compared) once the rerun has every row
        pytest.skip(f"the committed ledger lacks {len(pending)} rows of the cpu profile: its outputs wait for the rerun")
    readme = (ROOT / "README.md").read_text()
    expected = readme_findings.findings_block(ROOT / "figures", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert readme_findings.replace_block(readme, expected) == readme, "README findings differ from figures/: run `make figures`"


def test_block_quotes_each_verdict_with_its_interval(tmp_path):
    pd.DataFrame([{"finding": "sex_bias", "verdict": "agree", "estimate": 0.01234, "ci_low": -0.002, "ci_high": 0.03,
                   "quote": "show no bias against male or female samples", "estimate_label": "SalUn, male minus female",
                   "interval_level": 0.9}]).to_csv(tmp_path / "verdicts.csv", index=False)
    block = readme_findings.findings_block(tmp_path, [])
    assert '| sex_bias: "show no bias against male or female samples" | **agree** | SalUn, male minus female: +0.012 [-0.002, +0.030] (90 % interval) |' in block
    assert block.startswith(readme_findings.BEGIN) and block.endswith(readme_findings.END)


def test_a_bar_in_an_estimate_label_stays_inside_its_cell(tmp_path):
    pd.DataFrame([{"finding": "per_example_ranking", "verdict": "inconclusive", "estimate": 0.0, "ci_low": -0.3, "ci_high": 0.3,
                   "estimate_label": "rho vs |MIA-efficacy gap|", "interval_level": 0.95}]).to_csv(tmp_path / "verdicts.csv", index=False)
    row = next(line for line in readme_findings.findings_block(tmp_path, []).splitlines() if line.startswith("| per_example"))
    assert "rho vs \\|MIA-efficacy gap\\|" in row and row.replace("\\|", "").count("|") == 4  # three cells


def test_replace_refuses_a_text_without_its_markers():
    with pytest.raises(ValueError, match="findings markers"):
        readme_findings.replace_block("no markers here", "x")
    text = f"a\n{readme_findings.BEGIN}\nold\n{readme_findings.END}\nb"
    assert readme_findings.replace_block(text, "new") == "a\nnew\nb"


# The hand-written history table's rows, by the claim each names (its "now" column must be figures/verdicts.csv's verdict).
HISTORY_ROWS = {"retain / forget": "retain_forget", "forget-set size": "forget_size", "sex bias": "sex_bias",
                "easy or hard samples": "difficulty", "tuning cost": "tuning_cost", "whole lesions vs images (this study's)": "patient_level",
                "relearning (this study's)": "relearning", "relearning on hard sets (this study's)": "relearning_hard",
                "per-example ranking (this study's)": "per_example_ranking"}


def test_the_verdict_history_table_ends_in_the_committed_verdicts():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("**Which verdicts changed, and why**"):]
    lines = table.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| finding |"))
    assert lines[first].split("|")[5].strip().startswith("now")
    rows = {}
    for line in lines[first + 2:]:  # below the header and its separator
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[4].strip("*")  # the "now" column
    verdicts = pd.read_csv(ROOT / "figures" / "verdicts.csv").set_index("finding")["verdict"]
    assert set(rows) == set(HISTORY_ROWS) and set(HISTORY_ROWS.values()) == set(verdicts.index)
    for label, key in HISTORY_ROWS.items():
        assert rows[label] == verdicts[key], f"README's history table says {label!r} is {rows[label]!r}; figures/verdicts.csv: {verdicts[key]!r}"
