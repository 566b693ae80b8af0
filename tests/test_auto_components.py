"""n_components="auto": the number of clusters chosen by the eigengap of
the pretrained embedding's neighbour graph, or on large data where the
eigengap is not decisive by the modularity of consensus cuts."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from skgmvae import GMVAEClustering
from skgmvae._init import (
    count_components,
    eigengap_components,
    graph_modularity,
    laplacian_spectrum,
    modularity_components,
    neighbour_graph,
)

FAST = dict(
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(32,),
    prior_hidden=16,
    max_iter=10,
    pretrain_epochs=30,
    kl_warmup=2,
    batch_size=64,
    n_score_samples=4,
    random_state=0,
)


def _blobs(k, n_per=60, seed=0, dim=2):
    return make_blobs(
        n_samples=n_per * k,
        centers=k,
        n_features=dim,
        cluster_std=0.5,
        center_box=(-20, 20),
        random_state=seed,
    )


@pytest.mark.parametrize("k", [2, 3, 5, 6])
def test_eigengap_counts_separated_groups(k):
    X, _ = _blobs(k, seed=k)
    found, values = eigengap_components(X, 10, seed=0)
    assert found == k
    # k eigenvalues near 0 (one per group), then the largest jump
    assert values[k - 1] < 0.1 and values[k] > 0.5


def test_sparse_and_dense_spectra_agree(monkeypatch):
    import skgmvae._init as init

    X, _ = _blobs(4, n_per=40)
    graph = neighbour_graph(X, 20)
    dense = laplacian_spectrum(graph, 8)
    monkeypatch.setattr(init, "EIGENGAP_DENSE_ROWS", 10)
    sparse = init.laplacian_spectrum(graph, 8)
    np.testing.assert_allclose(sparse, dense, atol=1e-6)
    assert np.all(np.diff(dense) >= -1e-12)


def test_eigengap_respects_its_bound():
    X, _ = _blobs(6)
    assert eigengap_components(X, 3, seed=0)[0] <= 3


def _two_triangles():
    """Two triangles 0-1-2 and 3-4-5 joined by the edge 2-3, unweighted."""
    from scipy import sparse

    edges = [(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5), (2, 3)]
    rows, cols = zip(*(edges + [(j, i) for i, j in edges]))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(6, 6))


def test_graph_modularity_follows_its_definition():
    graph = _two_triangles()
    # 7 edges, 6 inside; each triangle's degrees sum to 7 of 14
    assert graph_modularity(graph, [0, 0, 0, 1, 1, 1]) == pytest.approx(6 / 7 - 0.5)
    assert graph_modularity(graph, np.zeros(6, dtype=int)) == pytest.approx(0.0)
    # rows labelled -1 are clusters of their own: nothing inside
    singletons = -(4 * 2**2 + 2 * 3**2) / 14**2
    assert graph_modularity(graph, -np.ones(6, dtype=int)) == pytest.approx(singletons)
    # a worse cut scores lower
    assert graph_modularity(graph, [0, 0, 1, 1, 1, 1]) < 6 / 7 - 0.5


@pytest.mark.parametrize("k", [3, 5])
def test_modularity_counts_separated_groups(k):
    X, _ = make_blobs(300 * k, centers=k, n_features=5, cluster_std=0.5,
                      center_box=(-20, 20), random_state=k)
    found, scores, leaks = modularity_components(X, 10, seed=0, n_draws=1)
    assert found == k
    assert scores.shape == leaks.shape == (9,) and np.argmax(scores) == k - 2
    # the right cut leaves almost no edge weight between clusters; one more
    # cluster splits a group across many edges
    assert leaks[k - 2] < 0.02 < leaks[k - 1]


def test_large_data_counts_by_modularity_only_where_the_eigengap_hesitates(monkeypatch):
    import skgmvae._init as init

    # two compact blobs: the eigengap is decisive and right, while the
    # modularity splits each blob (its known overcount of few groups)
    X, _ = make_blobs(600, centers=2, n_features=5, cluster_std=0.5,
                      center_box=(-20, 20), random_state=2)
    overcount = modularity_components(X, 10, seed=0)[0]
    assert overcount > 2
    monkeypatch.setattr(init, "MODULARITY_COUNT_MIN_ROWS", 100)
    assert count_components(X, 10, seed=0) == 2
    # a jump that must be overwhelming to count: the eigengap's count is
    # still kept, as its clusters barely touch in the graph
    monkeypatch.setattr(init, "EIGENGAP_DECISIVE_RATIO", np.inf)
    assert count_components(X, 10, seed=0) == 2
    # groups that must leak nothing to count as separate: the modularity
    monkeypatch.setattr(init, "TOUCHING_LEAK", 0.0)
    assert count_components(X, 10, seed=0) == overcount
    # never on small data
    monkeypatch.setattr(init, "MODULARITY_COUNT_MIN_ROWS", 20_000)
    assert count_components(X, 10, seed=0) == 2


def test_auto_fit_finds_the_clusters():
    X, y = _blobs(4, dim=5, seed=1)
    model = GMVAEClustering("auto", **FAST).fit(X)
    assert model.n_components_ == 4
    assert model.predict_proba(X).shape == (len(X), 4)
    assert set(np.unique(model.predict(X))) <= set(range(4))
    assert adjusted_rand_score(y, model.labels_) > 0.95
    sampled, components = model.sample(50)
    assert sampled.shape == (50, 5) and components.max() < 4


def test_int_n_components_is_kept():
    X, _ = _blobs(3, dim=5)
    model = GMVAEClustering(5, **FAST).fit(X)
    assert model.n_components_ == 5
    assert model.predict_proba(X).shape == (len(X), 5)


def test_auto_model_round_trips_and_continues():
    X, _ = _blobs(3, dim=5, seed=2)
    model = GMVAEClustering("auto", **FAST).fit(X)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    for m in (model, copy):
        m.set_params(warm_start=True, max_iter=2).fit(X)
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    assert copy.n_components_ == model.n_components_ == 3
    # partial_fit continues the chosen components too
    model.partial_fit(X)
    assert model.n_components_ == 3


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pretrain_epochs": 0}, "pretrained embedding"),
        ({"grow_from": 2}, "grow_from needs an int n_components"),
        ({"max_components": 1}, "max_components"),
    ],
)
def test_auto_refuses_what_cannot_choose(params, match):
    X, _ = _blobs(3, dim=5)
    with pytest.raises(ValueError, match=match):
        GMVAEClustering("auto", **{**FAST, **params}).fit(X)


def test_eigengap_ratio_is_the_largest_jump_over_the_next():
    from skgmvae._init import eigengap_ratio

    # jumps for the counts 2, 3, 4: 0.1, 0.6, 0.2 (the first value's jump,
    # to one cluster, does not count)
    values = np.array([0.0, 5.0, 5.1, 5.7, 5.9])
    assert eigengap_ratio(values, 4) == pytest.approx(0.6 / 0.2)
    # up to 3 clusters only the jumps 0.1 and 0.6 count
    assert eigengap_ratio(values, 3) == pytest.approx(0.6 / 0.1)
    # one jump, or a next jump of zero: as decisive as can be
    assert eigengap_ratio(values[:3], 2) == np.inf
    assert eigengap_ratio(np.array([0.0, 0.0, 1.0, 1.0]), 3) == np.inf
