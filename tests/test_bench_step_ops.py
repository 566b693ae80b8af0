"""benchmarks/experiments/bench_step_ops.py runs end to end in its quick form,
and its op-by-op step computes the same terms as the package's."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks/experiments/bench_step_ops.py"


def _script():
    spec = importlib.util.spec_from_file_location("bench_step_ops", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_op_by_op_terms_are_the_packages_terms():
    from skgmvae._model import GMVAENet

    torch.manual_seed(0)
    net = GMVAENet(12, 3, 2, 2, (8,), 4, "bernoulli")
    y = torch.rand(6, 12)
    noise = torch.randn(2, 6, 4)
    p = net(y, noise)
    want = net.elbo_terms(y, noise)
    got = _script().op_by_op_terms(y, p, net.likelihood)
    for key, value in got.items():
        torch.testing.assert_close(value, want[key])


def test_quick_run_times_both_kinds_of_step(tmp_path):
    _script().main(["--quick", "--out-dir", str(tmp_path)])
    assert not (tmp_path / "step_ops.json").exists()  # kept apart from full runs
    result = json.loads((tmp_path / "step_ops_quick.json").read_text())
    assert result["setup"]["batch_size"] == 256  # "auto" for 70,000 rows
    for kind in ("one node", "op by op"):
        (ms,) = result["ms"][kind]
        assert 0 < ms < 1000
    # the written-out backward pass records fewer operations
    assert result["operators"]["one node"] < result["operators"]["op by op"]
    text = (tmp_path / "step_ops_quick.md").read_text()
    assert "| one node |" in text and "| op by op |" in text


def test_quick_run_compares_the_packages_adam_with_torchs(tmp_path):
    from skgmvae._train import make_optimizer

    if not make_optimizer(torch.nn.Linear(1, 1), 1e-3).defaults.get("fused"):
        pytest.skip("this torch has no fused Adam on the CPU: both kinds are torch's step")
    _script().main(["--quick", "--compare", "adam", "--out-dir", str(tmp_path)])
    result = json.loads((tmp_path / "step_ops_adam_quick.json").read_text())
    assert result["compare"] == "adam"
    for kind in ("package Adam", "torch Adam"):
        (ms,) = result["ms"][kind]
        assert 0 < ms < 1000
    # one operation counts every parameter's step where torch runs one each
    assert result["operators"]["package Adam"] < result["operators"]["torch Adam"]
    text = (tmp_path / "step_ops_adam_quick.md").read_text()
    assert "| package Adam |" in text and "torch's fused Adam" in text
