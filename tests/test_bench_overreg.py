"""benchmarks/experiments/bench_overreg.py runs end to end in its quick form."""

import itertools
import json
import math

import pytest

#: The script, by its path under benchmarks/.
SCRIPT = "experiments/bench_overreg.py"

RUN_NUMBERS = (
    "components_used",
    "effective_k",
    "informative_k",
    "final_z_prior",
    "lower_bound",
    "accuracy",
    "fit_seconds",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("overreg")
    # an empty data directory: MNIST is skipped unless the data is present
    data = tmp_path_factory.mktemp("no_data")
    run_benchmark(SCRIPT, "--quick", "--out-dir", out, "--data-dir", data)
    return out


def _check_dataset(res, n_samples, n_components):
    assert res["n_samples"] == n_samples
    assert res["n_components"] == n_components
    found = {
        (s["min_information"], s["kl_warmup"], s["pretrain_epochs"] == 0)
        for s in res["settings"]
    }
    expected = set(itertools.product((0.0, 0.5, 1.5), (10, 0), (False, True)))
    assert found == expected
    assert len(res["settings"]) == len(expected)
    log_k = math.log(n_components)
    for setting in res["settings"]:
        assert len(setting["runs"]) == 1
        for run in setting["runs"]:
            z = run["z_prior"]
            assert len(z) == 4  # quick mode: 4 ELBO epochs
            assert all(math.isfinite(v) and -1e-6 <= v <= log_k + 1e-4 for v in z)
            assert run["kl_weight"][-1] == 1.0 or setting["kl_warmup"] > 4
            assert (run["n_pretrain_epochs"] == 0) == (setting["pretrain_epochs"] == 0)
            for key in RUN_NUMBERS:
                assert math.isfinite(run[key]), (setting["name"], key)
            assert 1 <= run["components_used"] <= n_components
            assert 1 - 1e-6 <= run["informative_k"] <= run["effective_k"] + 1e-6
            assert run["effective_k"] <= n_components + 1e-6
            assert 0 < run["accuracy"] <= 1
        for key, (mean, std) in setting["summary"].items():
            assert math.isfinite(mean) and math.isfinite(std), (setting["name"], key)


def test_quick_json_has_every_setting(quick_run):
    result = json.loads((quick_run / "overreg_quick.json").read_text())
    assert result["quick"] is True
    assert list(result["datasets"]) == ["spiral"]
    _check_dataset(result["datasets"]["spiral"], 600, 8)


def test_quick_pngs_exist(quick_run):
    for name in ("overreg_z_prior_quick.png", "overreg_components_quick.png"):
        path = quick_run / name
        assert path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quick_with_mnist(data_dir, tmp_path, run_benchmark):
    run_benchmark(SCRIPT, "--quick", "--out-dir", tmp_path, "--data-dir", data_dir)
    result = json.loads((tmp_path / "overreg_quick.json").read_text())
    assert list(result["datasets"]) == ["spiral", "mnist"]
    _check_dataset(result["datasets"]["mnist"], 300, 10)
    assert (tmp_path / "overreg_components_quick.png").stat().st_size > 10_000
