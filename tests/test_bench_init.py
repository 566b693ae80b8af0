"""benchmarks/experiments/bench_init.py runs end to end in its quick form."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_run(data_dir, tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("init")
    run_benchmark("experiments/bench_init.py", "--quick", "--data-dir", data_dir, "--out-dir", out)
    return out


def test_quick_run_fits_both_starts(quick_run):
    cells = json.loads((quick_run / "init_mnist_1500_quick.json").read_text())["cells"]
    assert set(cells) == {"consensus/seed0", "gaussian-mixture/seed0"}
    for cell in cells.values():
        for name in ("initial_accuracy", "accuracy", "nmi"):
            assert 0.0 <= cell[name] <= 1.0
        assert math.isfinite(cell["lower_bound"]) and cell["fit_seconds"] > 0
    # the two starts share the pretrained embedding but not the initial mixture
    first, second = cells.values()
    assert first["initial_accuracy"] != second["initial_accuracy"]
    table = (quick_run / "init_mnist_1500_quick.md").read_text()
    assert "\n| consensus | 1 | " in table and "\n| 0 | " in table


def test_size_kl():
    folders = [str(ROOT / "benchmarks" / "experiments"), str(ROOT / "benchmarks")]
    sys.path[:0] = folders
    try:
        from bench_init import size_kl
    finally:
        for folder in folders:
            sys.path.remove(folder)
    assert size_kl(np.repeat(np.arange(4), 5), 4) == pytest.approx(0.0)
    assert size_kl(np.zeros(20, dtype=int), 4) == pytest.approx(math.log(4))


def test_quick_run_on_fashion_mnist(data_dir, tmp_path, run_benchmark):
    out = tmp_path / "init"
    run_benchmark(
        "experiments/bench_init.py",
        "--quick",
        "--dataset",
        "fashion-mnist",
        "--start",
        "consensus",
        "--data-dir",
        data_dir,
        "--out-dir",
        out,
    )
    assert not (out / "init_mnist_1500_quick.json").exists()
    cells = json.loads((out / "init_fashion-mnist_1500_quick.json").read_text())
    assert set(cells["cells"]) == {"consensus/seed0"}
    table = (out / "init_fashion-mnist_1500_quick.md").read_text()
    assert table.startswith("Fashion-MNIST, 1500 training images")
    # one start: no table of paired differences
    assert "\n| consensus | 1 | " in table and "difference" not in table
