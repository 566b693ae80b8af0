"""The spectral start on noisy data: the partition of the densest rows."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from skgmvae import GMVAEClustering, _init
from skgmvae.metrics import clustering_accuracy

NOISY = {
    "moons": lambda: make_moons(1000, noise=0.12, random_state=0),
    "circles": lambda: make_circles(1000, noise=0.10, factor=0.5, random_state=0),
}


@pytest.mark.parametrize("name", sorted(NOISY))
def test_noise_between_groups_no_longer_joins_them(name):
    X, y = NOISY[name]()
    X = StandardScaler().fit_transform(X)
    # the spectral partition of all rows cuts both groups across
    every_row = _init.graph_partition(_init.self_tuning_graph(X, 25), 2, seed=0)
    assert clustering_accuracy(y, every_row) < 0.9
    assert clustering_accuracy(y, _init.spectral_labels(X, 2, seed=0)) > 0.98


def spectral_state(n_rows, seed):
    """The seed that ``spectral_labels(..., seed)`` gives its partitions."""
    rng = np.random.default_rng(seed)
    _init.seeded_rows(n_rows, _init.SPECTRAL_ROWS, rng)
    return int(rng.integers(0, 2**31 - 1))


def densest_rows(X):
    reach = NearestNeighbors(n_neighbors=_init.SELF_TUNING_LOCAL + 1).fit(X)
    reach = reach.kneighbors(X)[0][:, -1]  # the row itself comes first
    n_core = int(_init.SPECTRAL_CORE_SHARE * len(X))
    return np.sort(np.argsort(reach, kind="stable")[:n_core]), reach


def test_the_rows_outside_the_core_follow_their_nearest_core_rows():
    X, _ = make_moons(600, noise=0.12, random_state=1)
    labels = _init.core_partition(X, 2, 25, seed=0)
    core, reach = densest_rows(X)
    border = np.setdiff1d(np.arange(len(X)), core)
    assert reach[core].max() <= reach[border].min()
    near = NearestNeighbors(n_neighbors=25).fit(X[core]).kneighbors(X[border])[1]
    core_of = labels[core]
    for row, neighbours in zip(border, near):
        counts = np.bincount(core_of[neighbours], minlength=2)
        assert counts[labels[row]] == counts.max()


def test_touching_groups_keep_the_partition_of_every_row():
    # two blobs that overlap: no partition of the core separates them clearly
    X, _ = make_blobs(800, centers=[[0, 0], [2.5, 0]], random_state=0)
    graph = _init.self_tuning_graph(X, 25)
    core = _init.core_partition(X, 2, 25, seed=0)
    assert _init.weighted_cut(graph, core, 2) > _init.SPECTRAL_SEPARATED_CUT
    expected = _init.graph_partition(graph, 2, spectral_state(len(X), seed=3))
    np.testing.assert_array_equal(_init.spectral_labels(X, 2, seed=3), expected)


def test_a_worse_core_partition_is_not_taken():
    # 100 rows on each of two clean rings: the outer ring is half as dense and
    # loses rows to the core, and the core partition gives some of them to
    # the inner ring; on the graph of all rows it cuts far more than the
    # partition of every row, which is kept
    X, y = make_circles(200, noise=0.02, factor=0.5, random_state=0)
    core, _ = densest_rows(X)
    assert np.bincount(y[core]).min() < 80
    assert clustering_accuracy(y, _init.core_partition(X, 2, 25, seed=0)) < 0.9
    assert clustering_accuracy(y, _init.spectral_labels(X, 2, seed=0)) == 1.0


def test_too_few_rows_have_no_core_partition():
    X, _ = make_blobs(30, centers=2, random_state=0)
    assert _init.core_partition(X, 2, 25, seed=0) is None
    assert _init.spectral_labels(X, 2, seed=0) is not None


def test_a_default_fit_finds_noisy_moons():
    X, y = make_moons(1000, noise=0.12, random_state=0)
    est = GMVAEClustering(n_components=2, random_state=0).fit(X)
    assert clustering_accuracy(y, est.labels_) > 0.97


@pytest.mark.parametrize(
    "X, y",
    [
        make_moons(600, noise=0.14, random_state=2),
        make_circles(1000, noise=0.10, factor=0.5, random_state=5),
    ],
    ids=["moons", "circles"],
)
def test_the_core_partition_is_judged_on_the_edges_between_core_rows(X, y):
    # the sparse rows between the groups carry most of both partitions' cut;
    # counted in, they favour the partition of every row, which cuts both
    # groups across; among the core rows the core partition cuts less
    X = StandardScaler().fit_transform(X)
    state = spectral_state(len(X), seed=0)
    graph = _init.self_tuning_graph(X, 25)
    every_row = _init.graph_partition(graph, 2, state)
    core, dense = _init.core_partition(X, 2, 25, state, return_core=True)
    assert clustering_accuracy(y, every_row) < 0.92
    assert clustering_accuracy(y, core) > 0.97
    assert _init.weighted_cut(graph, core, 2) > _init.weighted_cut(graph, every_row, 2)
    outside = np.ones(len(X), dtype=bool)
    outside[dense] = False
    core_cut, every_row_cut = (
        _init.weighted_cut(graph, np.where(outside, -1, p), 2) for p in (core, every_row)
    )
    assert core_cut < every_row_cut
    np.testing.assert_array_equal(_init.graph_labels(X, 2, 25, state), core)
    # the start may take a denser graph's partition, which parts them as well
    assert clustering_accuracy(y, _init.spectral_labels(X, 2, seed=0)) > 0.97
