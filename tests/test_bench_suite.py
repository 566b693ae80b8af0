"""benchmarks/bench_suite.py runs end to end in its quick form and resumes."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def quick_suite(tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("suite")
    args = ["--quick", "--seeds", "1", "--datasets", "iris", "circles"]
    args += ["--models", "GMVAE", "KMeans", "GMM-full", "--out-dir", out]
    run_benchmark("bench_suite.py", *args)
    return out, args


def test_every_fit_is_saved_and_tabled(quick_suite):
    out, _ = quick_suite
    cells = json.loads((out / "suite_quick.json").read_text())["cells"]
    expected = {
        f"{data}/{model}/{seed}"
        for data in ("iris", "circles")
        for model in ("GMVAE", "KMeans", "GMM-full")
        for seed in (0,)
    }
    assert set(cells) == expected
    for cell in cells.values():
        assert 0.0 < cell["accuracy"] <= 1.0 and cell["fit_seconds"] > 0
    # KMeans cannot cut two concentric circles: about half the rows right
    assert cells["circles/KMeans/0"]["accuracy"] < 0.7
    table = (out / "suite_quick.md").read_text()
    assert "| iris | " in table and "| circles | " in table
    assert "n=1" in table


def test_each_fit_records_where_it_ran(quick_suite, benchmark_module):
    """Every saved fit names this machine's CPU and library versions, and
    the table counts the GMVAE fits of each environment, fits saved
    without one apart."""
    import sklearn
    import torch

    out, _ = quick_suite
    cells = json.loads((out / "suite_quick.json").read_text())["cells"]
    here = {cell["environment"] for cell in cells.values()}
    assert len(here) == 1
    (env,) = here
    assert f"torch {torch.__version__}" in env and f"scikit-learn {sklearn.__version__}" in env
    assert f"GMVAE fits ran on: {env} (2 fits)." in (out / "suite_quick.md").read_text()
    suite = benchmark_module("bench_suite.py")
    older = {"accuracy": 1.0}
    line = suite.environments([cells["iris/GMVAE/0"], older, dict(older)])
    assert line == f"GMVAE fits ran on: not recorded (2 fits); {env} (1 fits)."


def test_a_rerun_fits_nothing_again(quick_suite, run_benchmark, monkeypatch):
    import sklearn.cluster

    out, args = quick_suite

    def refuse(*args, **kwargs):
        raise AssertionError("a saved fit was run again")

    monkeypatch.setattr(sklearn.cluster.KMeans, "fit", refuse)
    before = (out / "suite_quick.json").read_text()
    run_benchmark("bench_suite.py", *args)
    assert (out / "suite_quick.json").read_text() == before


def test_a_new_default_refits_the_gmvae_only(quick_suite, run_benchmark, monkeypatch, tmp_path):
    import shutil

    from skgmvae import _train

    src, args = quick_suite
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    args = [str(out) if a == src else a for a in args]
    before = json.loads((out / "suite_quick.json").read_text())["cells"]

    monkeypatch.setattr(_train, "GRAPH_MEMORY", 0.5)
    run_benchmark("bench_suite.py", *args)
    after = json.loads((out / "suite_quick.json").read_text())["cells"]
    for key, cell in after.items():
        if "/GMVAE/" in key:
            assert cell["gmvae"] != before[key]["gmvae"]
        else:  # kept as saved, its timing included
            assert cell == before[key]


def test_gmvae_fits_of_another_version_are_marked(quick_suite, run_benchmark, monkeypatch, tmp_path):
    import shutil

    from skgmvae import _train

    src, args = quick_suite
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    args = [str(out) if a == src else a for a in args]
    assert "†" not in (out / "suite_quick.md").read_text().split("\n", 2)[2]
    # a new version refits iris only: the saved circles fit is marked
    monkeypatch.setattr(_train, "GRAPH_MEMORY", 0.5)
    args.remove("circles")
    run_benchmark("bench_suite.py", *args)
    rows = {line.split(" | ")[0]: line for line in (out / "suite_quick.md").read_text().splitlines()}
    assert "†" in rows["| circles"].split(" | ")[1]
    assert "†" not in rows["| iris"]


def test_test_image_sets_are_the_test_subsets(data_dir, benchmark_module):
    """``mnist-test`` and ``fashion-mnist-test`` are the 10,000 test images
    of each set, the same rows as the loader's test subset, and count as
    images (the GMVAE gets the Bernoulli likelihood)."""
    from skgmvae.datasets import load_idx_dataset

    suite = benchmark_module("bench_suite.py")
    for name in ("mnist", "fashion-mnist"):
        X, y = suite.load(f"{name}-test", data_dir)
        X_ref, y_ref = load_idx_dataset(data_dir / name, subset="test")
        assert X.shape == (10_000, 784)
        np.testing.assert_array_equal(X, X_ref)
        np.testing.assert_array_equal(y, y_ref)
        assert f"{name}-test" in suite.IMAGES


def test_3k_image_sets_are_training_images_drawn_once(data_dir, benchmark_module):
    """``mnist-3k`` and ``fashion-mnist-3k`` are 3,000 distinct rows of the
    training images with their labels, the same on every call, with every
    class present."""
    from skgmvae.datasets import load_idx_dataset

    suite = benchmark_module("bench_suite.py")
    for name in ("mnist", "fashion-mnist"):
        X, y = suite.load(f"{name}-3k", data_dir)
        X_train, y_train = load_idx_dataset(data_dir / name, subset="train")
        assert X.shape == (3000, 784) and f"{name}-3k" in suite.IMAGES
        rows = np.random.default_rng(suite.SUBSET_SEED).choice(
            len(X_train), suite.SUBSET_ROWS, replace=False
        )
        assert len(set(rows.tolist())) == 3000
        np.testing.assert_array_equal(X, X_train[rows])
        np.testing.assert_array_equal(y, y_train[rows])
        np.testing.assert_array_equal(suite.load(f"{name}-3k", data_dir)[0], X)
        assert set(np.unique(y).tolist()) == set(range(10))


def test_held_out_sets_load_as_documented(data_dir, benchmark_module):
    """The sets added after the defaults were set have the rows, features
    and classes the module docstring gives them, and none shares a name
    with an older set."""
    suite = benchmark_module("bench_suite.py")
    shapes = {
        "blobs_many": (2000, 10, 20),
        "blobs_imbalanced": (1250, 2, 3),
        "moons_noise_features": (1000, 10, 2),
        "quantiles": (1000, 2, 3),
        "classification_50d": (1500, 50, 4),
        "blobs_scaled": (1000, 3, 5),
    }
    assert set(suite.HELD_OUT) == set(shapes)
    assert not set(suite.HELD_OUT) & set(suite.SMALL + suite.IMAGES)
    for name, (rows, features, classes) in shapes.items():
        X, y = suite.load(name, data_dir)
        assert X.shape == (rows, features) and np.isfinite(X).all()
        assert len(np.unique(y)) == classes
    _, y = suite.load("blobs_imbalanced", data_dir)
    assert sorted(np.bincount(y).tolist()) == [50, 200, 1000]
    X, _ = suite.load("blobs_scaled", data_dir)
    spread = X.std(axis=0)
    assert spread[1] > 10 * spread[0] > 100 * spread[2]
    X, _ = suite.load("moons_noise_features", data_dir)
    assert np.allclose(X[:, 2:].mean(axis=0), 0.0, atol=0.1)


def test_curved_sets_load_as_documented(benchmark_module):
    """The curved sets have the rows and classes the module docstring gives
    them: spiral arms of equal size, and three rings whose radii part the
    classes (every row of ring k lies nearer radius k + 1 than the others)."""
    suite = benchmark_module("bench_suite.py")
    shapes = {"spirals_3": (2000, 3), "spirals_5": (3000, 5), "rings_3": (1800, 3)}
    assert set(suite.CURVED) == set(shapes)
    assert not set(suite.CURVED) & set(suite.SMALL + suite.HELD_OUT + suite.IMAGES)
    for name, (rows, classes) in shapes.items():
        X, y = suite.load(name, None)
        assert X.shape == (rows, 2) and np.isfinite(X).all()
        counts = np.bincount(y)
        assert len(counts) == classes and counts.max() - counts.min() <= 1
    X, y = suite.load("rings_3", None)
    radius = np.linalg.norm(X, axis=1)
    assert (np.abs(radius[:, None] - [1.0, 2.0, 3.0]).argmin(1) == y).all()


def test_rotated_sets_turn_their_source_into_more_features(benchmark_module):
    """The rotated sets have the source's rows and classes in the documented
    number of features; without noise the turn keeps every distance."""
    suite = benchmark_module("bench_suite.py")
    assert set(suite.ROTATED) == set(suite.ROTATED_FROM)
    assert not set(suite.ROTATED) & set(suite.SMALL + suite.HELD_OUT + suite.CURVED)
    for name, (source, features) in suite.ROTATED_FROM.items():
        X, y = suite.load(name, None)
        X0, y0 = suite.load(source, None)
        assert X.shape == (len(X0), features) and features > 10
        np.testing.assert_array_equal(y, y0)
    X0, y0 = suite.load("circles", None)
    turned, _ = suite.rotated(X0, y0, 20, noise=0.0)
    assert not np.allclose(turned[:, :2], X0)
    np.testing.assert_allclose(
        np.linalg.norm(turned[:5, None] - turned[None, :5], axis=-1),
        np.linalg.norm(X0[:5, None] - X0[None, :5], axis=-1),
    )


def test_discrete_sets_have_few_values_per_feature(benchmark_module):
    """The binary and count sets have the documented rows, groups and
    features, and their groups differ: each feature's mean differs between
    two groups somewhere."""
    suite = benchmark_module("bench_suite.py")
    assert not set(suite.DISCRETE) & set(suite.SMALL + suite.HELD_OUT + suite.CURVED + suite.ROTATED)
    shapes = {"binary_30d": ((1200, 30), [300] * 4), "votes_16d": ((435, 16), [270, 165]),
              "counts_20d": ((1000, 20), [250] * 4)}
    for name in suite.DISCRETE:
        X, y = suite.load(name, None)
        assert X.shape == shapes[name][0] and X.dtype == np.float64
        assert np.bincount(y).tolist() == shapes[name][1]
        assert np.all(X == np.round(X)) and X.min() == 0
        means = np.array([X[y == k].mean(0) for k in np.unique(y)])
        assert (means.max(0) - means.min(0)).max() > 0.3
    binary, _ = suite.load("binary_30d", None)
    assert set(np.unique(binary)) == {0.0, 1.0}
    np.testing.assert_array_equal(suite.load("counts_20d", None)[0], suite.discrete("counts_20d")[0])


def test_fresh_sets_have_their_documented_shapes(benchmark_module):
    """The sets drawn last have the documented rows, groups and features,
    are new to the suite, and the categorical one is one-hot coded."""
    suite = benchmark_module("bench_suite.py")
    earlier = suite.SMALL + suite.HELD_OUT + suite.CURVED + suite.ROTATED + suite.DISCRETE + suite.IMAGES
    assert not set(suite.FRESH) & set(earlier)
    assert set(suite.ALL) == set(earlier + suite.FRESH)
    shapes = {
        "mixed_15d": ((1200, 15), [400] * 3), "binary_30d_b": ((1200, 30), [300] * 4),
        "binary_40d_uneven": ((800, 40), [600, 150, 50]), "ordinal_12d": ((800, 12), [200] * 4),
        "onehot_24d": ((600, 24), [300, 200, 100]), "swiss_roll_halves": ((2000, 3), [1000] * 2),
        "grid_49": ((1960, 2), [40] * 49), "aniso_20d": ((2000, 20), [400] * 5),
        "varied_10d": ((1500, 10), [375] * 4), "moons_4": ((1600, 2), [500, 500, 300, 300]),
    }
    for name, (shape, sizes) in shapes.items():
        X, y = suite.load(name, None)
        assert X.shape == shape and X.dtype == np.float64, name
        assert np.bincount(y).tolist() == sizes, name
    X, y = suite.load("blobs_outliers", None)
    assert X.shape == (1575, 2) and len(np.unique(y)) == 4
    onehot, _ = suite.load("onehot_24d", None)
    np.testing.assert_array_equal(onehot.reshape(600, 6, 4).sum(-1), 1.0)
    ordinal, _ = suite.load("ordinal_12d", None)
    assert set(np.unique(ordinal)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    second, _ = suite.load("binary_30d_b", None)
    assert not np.array_equal(second, suite.load("binary_30d", None)[0])
