"""benchmarks/experiments/bench_raw_mixture.py: the raw fit carried to the
standardised rows is the same mixture, and a quick run end to end."""

import json

import numpy as np
import pytest


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("experiments/bench_raw_mixture.py")


def _scaled_blobs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (150, 3)), rng.normal(4, 1, (150, 3))])
    X[:, 0] *= 1000.0  # features on very different scales
    X[:, 2] *= 0.1
    return X, np.repeat([0, 1], 150)


def test_the_raw_fit_rescaled_keeps_its_likelihood_and_stays_put(module):
    X, y = _scaled_blobs()
    row = module.one_seed(X, y, 2, 0, quick=False)
    # EM started at the rescaled raw optimum stays there: the same labels and
    # the same likelihood, in the standardised rows' units
    assert row["from_raw"] == row["raw"]
    assert row["from_raw_loglik"] == pytest.approx(row["raw_loglik"], abs=1e-6)
    # both fits find the blobs, and then fit them equally well
    assert row["raw"] == row["standardised"] == 1.0
    assert row["raw_loglik"] == pytest.approx(row["standardised_loglik"], abs=1e-3)


def test_rescaled_start_maps_means_and_covariances(module):
    from sklearn.mixture import GaussianMixture

    X, _ = _scaled_blobs()
    mixture = GaussianMixture(2, covariance_type="full", random_state=0).fit(X)
    mean, scale = X.mean(0), X.std(0)
    weights, means, precisions = module.rescaled_start(mixture, mean, scale)
    np.testing.assert_allclose(means * scale + mean, mixture.means_)
    covariances = np.linalg.inv(precisions) * np.outer(scale, scale)
    np.testing.assert_allclose(covariances, mixture.covariances_, rtol=1e-6)
    np.testing.assert_array_equal(weights, mixture.weights_)


def test_quick_run_writes_its_table(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_raw_mixture.py", "--quick", "--seeds", "2",
        "--datasets", "iris", "wine", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "raw_mixture_quick.json").read_text())
    assert [len(table[name]) for name in ("iris", "wine")] == [2, 2]
    for rows in table.values():
        assert all(0.3 < row[key] <= 1.0 for row in rows for key in ("raw", "standardised"))
    text = (tmp_path / "raw_mixture_quick.md").read_text()
    assert "| iris | 2 |" in text and "| wine | 2 |" in text
