"""benchmarks/bench_fit_phases.py clocks the phases of a fit and resumes."""

import json

import pytest


@pytest.fixture(scope="module")
def quick_phases(tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("phases")
    args = ["--data", "wine", "--quick", "--seeds", "2", "--out-dir", out]
    run_benchmark("bench_fit_phases.py", *args)
    return out, args


def test_the_phases_add_up_to_the_fit(quick_phases):
    out, _ = quick_phases
    cells = json.loads((out / "fit_phases_wine_quick.json").read_text())["cells"]
    assert set(cells) == {"0", "1"}
    for cell in cells.values():
        phases = cell["GMVAE"]["phases"]
        assert set(phases) == {"pretrain", "start", "elbo", "other"}
        # every hook fired: no phase is empty
        assert all(seconds > 0 for seconds in phases.values())
        assert sum(phases.values()) == pytest.approx(cell["GMVAE"]["fit_seconds"])
        assert cell["GMVAE"]["n_iter"] == 2  # the quick run's max_iter
        assert 0 < cell["KMeans"]["fit_seconds"] and 0 < cell["KMeans"]["accuracy"] <= 1
    table = (out / "fit_phases_wine_quick.md").read_text()
    assert "| GMVAE start |" in table and "| ratio GMVAE / KMeans |" in table


def test_a_rerun_fits_nothing_again(quick_phases, run_benchmark):
    out, args = quick_phases
    path = out / "fit_phases_wine_quick.json"
    before = path.read_text()
    run_benchmark("bench_fit_phases.py", *args)
    assert path.read_text() == before


def test_a_changed_parameter_fits_into_its_own_file(quick_phases, run_benchmark):
    out, args = quick_phases
    run_benchmark("bench_fit_phases.py", *args[:-2], "--seeds", "1", "--out-dir", out,
                  "batch_size=32")
    cells = json.loads((out / "fit_phases_wine_batch_size-32_quick.json").read_text())
    assert set(cells["cells"]) == {"0"} and cells["params"]["batch_size"] == 32


def test_the_clock_laps_at_each_phase_and_adds_up_the_runs(benchmark_module):
    # a clock that ticks one second a reading: each lap is one second, so
    # the phases count the hooks that ended them
    import itertools

    from sklearn.datasets import load_iris

    from skgmvae import GMVAEClustering

    PhaseClock = benchmark_module("bench_fit_phases.py").PhaseClock
    X, _ = load_iris(return_X_y=True)
    kw = dict(max_iter=3, pretrain_epochs=4, n_iter_no_change=None, random_state=0)
    one = PhaseClock(clock=itertools.count().__next__)
    GMVAEClustering(3, callbacks=[one], **kw).fit(X)
    # four pretraining epochs, then the start, then the ELBO epochs
    assert one.seconds == {"pretrain": 4, "start": 1, "elbo": 1}
    two = PhaseClock(clock=itertools.count().__next__)
    GMVAEClustering(3, callbacks=[two], n_init=2, **kw).fit(X)
    assert two.seconds == {"pretrain": 8, "start": 2, "elbo": 2}
    assert two.phases(20.0)["other"] == 8.0
