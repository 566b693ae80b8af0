import os
import runpy
import sys
from pathlib import Path

import pytest

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
        saved_argv, saved_path = sys.argv, list(sys.path)
        sys.argv = [str(path), *map(str, args)]
        sys.path.insert(0, str(path.parent))
        try:
            runpy.run_path(str(path), run_name="__main__")
        finally:
            sys.argv, sys.path[:] = saved_argv, saved_path

    return run
