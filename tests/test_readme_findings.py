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


def test_replace_refuses_a_text_without_its_markers():
    with pytest.raises(ValueError, match="findings markers"):
        readme_findings.replace_block("no markers here", "x")
    text = f"a\n{readme_findings.BEGIN}\nold\n{readme_findings.END}\nb"
    assert readme_findings.replace_block(text, "new") == "a\nnew\nb"
