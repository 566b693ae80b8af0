"""The spectral start also cuts a denser graph and keeps the partition that
leaks less of the graph asked for."""

import numpy as np
from sklearn.datasets import make_moons, make_swiss_roll

from skgmvae import _init
from skgmvae.metrics import clustering_accuracy


def spectral_state(n_rows, seed):
    """The seed that ``spectral_labels(..., seed)`` gives its partitions."""
    rng = np.random.default_rng(seed)
    _init.seeded_rows(n_rows, _init.SPECTRAL_ROWS, rng)
    return int(rng.integers(0, 2**31 - 1))


def leak(rows, labels, n_neighbors):
    near, shares = _init.neighbour_shares(rows, n_neighbors)
    return _init.start_leak(near, shares, labels)


def test_a_denser_graph_halves_a_roll_that_the_asked_graph_cut_elsewhere():
    X, t = make_swiss_roll(2000, noise=0.3, random_state=0)
    X, y = _init.standardised(X), (t > np.median(t)).astype(int)
    state = spectral_state(len(X), seed=0)
    asked = _init.graph_labels(X, 2, 15, state)
    denser = _init.graph_labels(X, 2, 20, state)
    assert _init.SPECTRAL_DENSER_RATIO * 15 == 20
    # the 15-neighbour graph's own partition is not its least leaky cut
    assert clustering_accuracy(y, asked) < 0.85
    assert leak(X, denser, 15) < leak(X, asked, 15)
    labels = _init.spectral_labels(X, 2, seed=0, n_neighbors=15)
    np.testing.assert_array_equal(labels, denser)
    assert clustering_accuracy(y, labels) > 0.95


def test_a_denser_graph_that_joins_groups_is_not_taken():
    # two pairs of moons, the second pair smaller: 20 neighbours join its two
    # moons, and that partition leaks more of the 15-neighbour graph
    X1, y1 = make_moons(1000, noise=0.06, random_state=0)
    X2, y2 = make_moons(600, noise=0.06, random_state=1)
    X, y = _init.standardised(np.vstack([X1, X2 + [4.0, 0.0]])), np.r_[y1, y2 + 2]
    state = spectral_state(len(X), seed=0)
    asked = _init.graph_labels(X, 4, 15, state)
    denser = _init.graph_labels(X, 4, 20, state)
    assert clustering_accuracy(y, denser) < 0.95
    assert leak(X, denser, 15) > leak(X, asked, 15)
    labels = _init.spectral_labels(X, 4, seed=0, n_neighbors=15)
    np.testing.assert_array_equal(labels, asked)
    assert clustering_accuracy(y, labels) == 1.0


def test_few_rows_keep_the_asked_graphs_partition():
    # 20 rows: a graph of 19 neighbours would join every row to every other;
    # the start cuts the graph asked for and parts the two groups
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[10:] += 6.0
    state = spectral_state(len(X), seed=0)
    labels = _init.spectral_labels(X, 2, seed=0, n_neighbors=15)
    np.testing.assert_array_equal(labels, _init.graph_labels(X, 2, 15, state))
    assert clustering_accuracy(np.repeat([0, 1], 10), labels) == 1.0
