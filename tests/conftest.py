import contextlib
import importlib
import json
import os
import runpy
import sys
from pathlib import Path

import pytest

# The suite runs in several processes (pytest-xdist, one per core). Each
# worker trains, multiplies and clusters on one thread: threads of two
# processes that share a core wait on each other (OpenMP threads spin while
# they wait), which makes a run many times slower instead of faster. The
# variables reach the libraries that load after this file (torch) and the
# processes a test starts; :func:`one_thread_per_worker` limits those that
# loaded before it (the ini's warning filter imports scikit-learn).
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_name] = "1"


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_worker():
    """One thread in every thread pool of an xdist worker, for the session."""
    if not WORKER:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield

#: The data directory: the benchmark data sets, never downloaded, in
#: $SKGMVAE_DATA or else shared/data beside the repository.
DATA_DIR = Path(
    os.environ.get(
        "SKGMVAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA_DIR / "mnist").is_dir():
        pytest.skip(f"benchmark data not found at {DATA_DIR} (set SKGMVAE_DATA)")
    return DATA_DIR


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="session")
def run_benchmark():
    """``run_benchmark("bench_x.py", *args)`` runs ``benchmarks/bench_x.py``
    in this process as ``python benchmarks/bench_x.py *args`` would (its
    folder first on the import path, for ``_common``), then restores
    ``sys.argv`` and ``sys.path``. An experiment is named by its path under
    ``benchmarks/``: ``run_benchmark("experiments/bench_x.py", *args)``."""

    def run(script, *args):
        path = BENCHMARKS / script
        saved_argv = sys.argv
        sys.argv = [str(path), *map(str, args)]
        try:
            with _import_path(path.parent):
                runpy.run_path(str(path), run_name="__main__")
        finally:
            sys.argv = saved_argv

    return run


@pytest.fixture(scope="session")
def quick_seed_table(run_benchmark):
    """``quick_seed_table("bench_x", out_dir, *datasets)`` runs
    ``benchmarks/experiments/bench_x.py --quick --seeds 1`` on ``datasets``
    into ``out_dir`` and returns its table (``{data set: [row]}``, from
    ``x_quick.json``) and its Markdown text, after checking that the quick
    run kept apart from a full run's files and covered exactly those data
    sets."""

    def run(stem, out_dir, *datasets):
        run_benchmark(
            f"experiments/{stem}.py", "--quick", "--seeds", "1",
            "--datasets", *datasets, "--out-dir", out_dir,
        )
        results = stem.removeprefix("bench_")
        assert not (out_dir / f"{results}.json").exists()  # kept apart from full runs
        table = json.loads((out_dir / f"{results}_quick.json").read_text())
        assert set(table) == set(datasets)
        return table, (out_dir / f"{results}_quick.md").read_text()

    return run


@pytest.fixture(scope="session")
def benchmark_module():
    """``benchmark_module("experiments/bench_x.py")`` imports the module of
    a benchmark script, with its folder and ``benchmarks/`` (for ``_common``
    and ``bench_suite``) first on the import path while it loads; ``sys.path``
    is restored after."""

    def load(script):
        path = BENCHMARKS / script
        with _import_path(path.parent, BENCHMARKS):
            return importlib.import_module(path.stem)

    return load


@contextlib.contextmanager
def _import_path(*folders):
    """``folders`` first on ``sys.path`` inside the block, which leaves
    ``sys.path`` as it found it."""
    saved = list(sys.path)
    sys.path[:0] = [str(folder) for folder in folders]
    try:
        yield
    finally:
        sys.path[:] = saved
