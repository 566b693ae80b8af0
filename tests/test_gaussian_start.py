"""The "gaussian" start and the "auto" rule that chooses it over the
spectral start where the spectral clusters touch."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_circles
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from skgmvae import GMVAEClustering, _init
from skgmvae.metrics import clustering_accuracy


def parallel_bars(gap=1.5, seed=0):
    """Three long, thin, parallel Gaussian groups a little apart: a graph of
    the rows joins neighbouring bars, a full covariance per group fits each
    bar."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 150)
    X = np.c_[rng.normal(0, 5.0, len(y)), rng.normal(0, 0.35, len(y)) + gap * y]
    return StandardScaler().fit_transform(X), y


def test_full_covariance_estimable_asks_rows_per_feature_and_per_covariance_entry():
    # 13 features, 3 clusters: 4 rows per feature is 52 rows a cluster
    assert _init.full_covariance_estimable(156, 13, 3)
    assert not _init.full_covariance_estimable(155, 13, 3)
    # 50 features, 4 clusters: 5,100 covariance entries need 1,275 rows
    assert _init.full_covariance_estimable(1275, 50, 4)
    assert not _init.full_covariance_estimable(1274, 50, 4)
    assert not _init.full_covariance_estimable(1797, 64, 10)  # load_digits
    assert not _init.full_covariance_estimable(10_000, 784, 10)  # MNIST's test images


def test_the_input_mixture_is_refused_where_a_cluster_has_no_more_rows_than_features():
    rng = np.random.default_rng(0)
    groups = [rng.normal(0, 1, (200, 2)), rng.normal(8, 1, (200, 2))]
    far = rng.normal(40, 1, (2, 2))  # two rows: a 2-d covariance is singular
    assert _init.input_mixture_labels(np.vstack(groups + [far]), 3, 0) is None
    far = rng.normal(40, 1, (20, 2))
    labels = _init.input_mixture_labels(np.vstack(groups + [far]), 3, 0)
    assert sorted(np.bincount(labels, minlength=3)) == [20, 200, 200]


def test_the_auto_start_takes_the_input_mixture_where_the_spectral_clusters_touch():
    X, y = parallel_bars()
    spectral = _init.spectral_labels(X, 3, 0)
    near, shares = _init.neighbour_shares(X, _init.SPECTRAL_NEIGHBORS)
    assert _init.start_leak(near, shares, spectral) >= _init.TOUCHING_LEAK
    assert clustering_accuracy(y, spectral) < 0.9
    _, _, labels = _init.initial_components(
        X, 3, 0, "spectral_or_gaussian", return_labels=True, inputs=X
    )
    assert clustering_accuracy(y, labels) > 0.97
    np.testing.assert_array_equal(labels, _init.input_mixture_labels(X, 3, 0))


def test_the_auto_start_keeps_a_spectral_partition_that_the_graph_separates():
    X, y = make_circles(600, noise=0.05, factor=0.5, random_state=0)
    X = StandardScaler().fit_transform(X)
    _, _, gaussian = _init.initial_components(X, 2, 0, "gaussian", return_labels=True, inputs=X)
    assert clustering_accuracy(y, gaussian) < 0.6  # a Gaussian cuts both rings
    _, _, auto = _init.initial_components(
        X, 2, 0, "spectral_or_gaussian", return_labels=True, inputs=X
    )
    np.testing.assert_array_equal(auto, _init.spectral_labels(X, 2, 0))
    assert clustering_accuracy(y, auto) == 1.0


@pytest.mark.parametrize("method", ["spectral_or_gaussian", "gaussian"])
def test_without_enough_rows_for_a_full_covariance_the_start_is_spectral(method):
    X, _ = parallel_bars()
    wide = np.c_[X, np.random.default_rng(0).normal(size=(len(X), 38))]  # 40 features
    assert not _init.full_covariance_estimable(len(wide), 40, 3)
    assert _init.input_mixture_labels(wide, 3, 0) is None
    _, _, labels = _init.initial_components(wide, 3, 0, method, return_labels=True, inputs=wide)
    np.testing.assert_array_equal(labels, _init.spectral_labels(wide, 3, 0))


def test_the_gaussian_start_without_input_rows_is_spectral():
    X, _ = parallel_bars()
    _, _, labels = _init.initial_components(X, 3, 0, "gaussian", return_labels=True)
    np.testing.assert_array_equal(labels, _init.spectral_labels(X, 3, 0))


def test_weighted_input_mixture_labels_every_row_and_ignores_weightless_ones():
    X, y = make_blobs(450, centers=[[0, 0], [6, 0], [30, 0]], random_state=0)
    kept = y < 2
    # unweighted, two components part the far group from the two near ones
    plain = _init.input_mixture_labels(X, 2, 0)
    assert clustering_accuracy(y[kept], plain[kept]) < 0.6
    labels = _init.input_mixture_labels(X, 2, 0, weights=kept.astype(float))
    assert labels.shape == (len(X),)
    assert clustering_accuracy(y[kept], labels[kept]) == 1.0


@pytest.mark.parametrize("init_params", ["auto", "spectral"])
def test_a_fit_starts_from_the_mixture_of_its_input_rows(init_params):
    X, _ = parallel_bars()
    X = X * [3.0, 0.5] + [10.0, -4.0]
    model = GMVAEClustering(
        n_components=3, init_params=init_params, pretrain_epochs=20, max_iter=1, random_state=0
    ).fit(X)
    # after one epoch the smoothed assignments are still the start's partition
    start = model._train_state.graph.memory.argmax(1).numpy()
    rows = model._scaling.tensor(X, "cpu").double().numpy()
    mixture = _init.input_mixture_labels(rows, 3, 0)
    agreement = adjusted_rand_score(mixture, start)
    if init_params == "auto":
        assert agreement > 0.95
    else:
        assert agreement < 0.8


def test_a_default_fit_finds_touching_gaussian_groups_that_the_spectral_start_cuts():
    X, y = parallel_bars()
    common = dict(n_components=3, pretrain_epochs=20, max_iter=5, random_state=0)
    auto = GMVAEClustering(**common).fit(X)
    spectral = GMVAEClustering(init_params="spectral", **common).fit(X)
    assert clustering_accuracy(y, auto.labels_) > 0.95
    # the spectral start joins rows of neighbouring bars: 0.94 here since it
    # keeps the least inertia of all its KMeans runs, about 0.98 for the default
    assert clustering_accuracy(y, auto.labels_) > clustering_accuracy(y, spectral.labels_) + 0.03


@pytest.mark.parametrize(
    "method, inputs, expected",
    [
        ("spectral_or_gaussian", True, "gaussian"),
        ("gaussian", True, "gaussian"),
        ("gaussian", False, "spectral"),  # no input rows: the spectral start
        ("spectral", True, "spectral"),
        ("gmm", True, "gmm"),
    ],
)
def test_initial_components_name_the_start_they_made(method, inputs, expected):
    X, _ = parallel_bars()
    *_, taken = _init.initial_components(
        X, 3, 0, method, inputs=X if inputs else None, return_method=True
    )
    assert taken == expected


def test_verbose_output_names_the_start(capsys):
    X, _ = parallel_bars()
    GMVAEClustering(n_components=3, pretrain_epochs=20, max_iter=1, random_state=0, verbose=1).fit(X)
    assert "mixture started from a full Gaussian mixture of the input rows" in capsys.readouterr().out
    X, _ = make_circles(300, noise=0.04, factor=0.5, random_state=0)
    GMVAEClustering(n_components=2, pretrain_epochs=20, max_iter=1, random_state=0, verbose=1).fit(X)
    assert "mixture started from the spectral clusters of the embedding" in capsys.readouterr().out
