"""benchmarks/experiments/bench_compile.py runs end to end in its quick form."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks/experiments/bench_compile.py"


def test_quick_run_times_eager_and_compiled_steps(tmp_path):
    # in a process of its own: compiling leaves state behind in torch
    subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert not (tmp_path / "compile.json").exists()  # kept apart from full runs
    result = json.loads((tmp_path / "compile_quick.json").read_text())
    assert result["setup"]["batch_size"] == 256  # "auto" for 70,000 rows
    (eager,) = result["eager_ms"]
    assert 0 < eager < 1000
    text = (tmp_path / "compile_quick.md").read_text()
    assert "| eager |" in text
    if "error" in result:  # no working compiler: said, not raised
        assert result["compiled_ms"] == [] and "torch.compile failed" in text
    else:
        (compiled,) = result["compiled_ms"]
        assert 0 < compiled < 1000 and result["first_call_s"] > 0
        assert "| compiled |" in text and "times the eager time" in text
