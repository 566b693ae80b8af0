"""benchmarks/experiments/bench_epochs.py runs end to end in its quick form, and its
continued fits are the fits that ``max_iter`` of that length would give."""

import json
import math
import warnings

import pytest


@pytest.fixture(scope="module")
def quick_run(data_dir, tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("epochs")
    run_benchmark(
        "experiments/bench_epochs.py", "--quick", "--data-dir", data_dir, "--out-dir", out
    )
    payload = json.loads((out / "epochs_mnist_train-test_K10_quick.json").read_text())
    return out, payload["cells"]


def test_quick_run_scores_every_checkpoint(quick_run):
    out, cells = quick_run
    assert set(cells) == {"seed0/epochs2", "seed0/epochs4"}
    first, second = cells["seed0/epochs2"], cells["seed0/epochs4"]
    for cell in (first, second):
        for name in ("accuracy", "purity", "nmi"):
            assert 0.0 <= cell[name] <= 1.0
        assert math.isfinite(cell["lower_bound"])
    assert (first["n_iter"], second["n_iter"]) == (2, 4)
    assert second["seconds"] > first["seconds"] > 0
    table = (out / "epochs_mnist_train-test_K10_quick.md").read_text()
    assert "\n| 2 | 1 | " in table and "\n| 4 | 1 | " in table


def test_continued_checkpoint_equals_one_fit_of_that_length(quick_run, data_dir):
    """The 4-epoch row (2 epochs, then 2 more with warm_start) is what one
    fit with max_iter=4 gives."""
    from skgmvae import GMVAEClustering
    from skgmvae.datasets import load_idx_dataset

    _, cells = quick_run
    X, _ = load_idx_dataset(data_dir / "mnist", subset="train")
    model = GMVAEClustering(
        10, likelihood="bernoulli", pretrain_epochs=2, max_iter=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[:2000])
    assert model.lower_bound_ == pytest.approx(
        cells["seed0/epochs4"]["lower_bound"], abs=1e-4
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("learning_rate_decay=0.5", "learning_rate_decay must stay 0"),
        ("grow_from=2", "grow_from must stay None"),
    ],
)
def test_overrides_that_break_continuation_are_refused(
    override, message, tmp_path, run_benchmark, capsys
):
    """Continued fits equal one longer fit only at a constant step size and
    without a split halfway through the first fit."""
    with pytest.raises(SystemExit) as exc:
        run_benchmark("experiments/bench_epochs.py", "--quick", "--out-dir", tmp_path, override)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
