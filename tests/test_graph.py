"""The spectral start and the neighbour term of the loss."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import (
    load_digits,
    make_blobs,
    make_circles,
    make_classification,
    make_moons,
)
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from skgmvae import GMVAEClustering, _init, _train
from skgmvae.metrics import clustering_accuracy


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_moons(800, noise=0.06, random_state=0),
        lambda: make_circles(800, noise=0.04, factor=0.5, random_state=0),
    ],
    ids=["moons", "circles"],
)
def test_spectral_labels_follow_curved_and_nested_groups(make):
    X, y = make()
    labels = _init.spectral_labels(X, 2, seed=0)
    gmm = GaussianMixture(2, random_state=0).fit_predict(X)
    assert clustering_accuracy(y, gmm) < 0.9
    assert clustering_accuracy(y, labels) == 1.0


def test_spectral_labels_on_a_subset_leave_the_other_rows_out():
    X, _ = make_blobs(500, centers=3, random_state=0)
    labels = _init.spectral_labels(X, 3, seed=0, max_rows=200)
    assert (labels >= 0).sum() == 200
    assert set(labels[labels >= 0]) == {0, 1, 2}
    np.testing.assert_array_equal(labels, _init.spectral_labels(X, 3, 0, max_rows=200))


@pytest.mark.parametrize("n_rows", [400, 6000])
def test_leading_eigenvectors_match_a_dense_solve_and_find_repeats(n_rows):
    # five far-apart groups: five separate pieces, eigenvalue 1 five times
    X, y = make_blobs(n_rows, n_features=4, centers=5, cluster_std=0.3,
                      center_box=(-100, 100), random_state=0)
    graph = _init.neighbour_graph(X, 10)
    values, vectors = _init.leading_eigenvectors(graph, 7, seed=0)
    np.testing.assert_allclose(values[:5], 1.0, atol=1e-6)
    assert values[5] < 0.999
    root = np.sqrt(np.asarray(graph.sum(axis=1)).ravel())
    adjacency = graph.multiply(1 / root[:, None]).multiply(1 / root[None, :])
    np.testing.assert_allclose(adjacency @ vectors, vectors * values, atol=1e-5)
    if n_rows < 1000:
        dense = np.sort(np.linalg.eigvalsh(adjacency.toarray()))[::-1][:7]
        np.testing.assert_allclose(values, dense, atol=1e-8)
    assert clustering_accuracy(y, _init.spectral_labels(X, 5, seed=0, n_neighbors=10)) == 1.0


def test_self_tuning_graph_is_symmetric_local_and_scale_free():
    rng = np.random.default_rng(0)
    # a tight group and a group a hundred times wider, far apart
    X = np.vstack([rng.normal(0, 0.01, (200, 3)), rng.normal(50, 1.0, (200, 3))])
    graph = _init.self_tuning_graph(X, 10)
    assert abs(graph - graph.T).max() == 0
    assert graph.data.min() > 0 and graph.data.max() <= 1
    assert (np.diff(graph.indptr) >= 10).all()
    assert graph[:200, 200:].nnz == 0
    # each group's weights are alike although their spreads differ 100-fold
    tight, wide = graph[:200, :200].data, graph[200:, 200:].data
    assert abs(np.median(tight) - np.median(wide)) < 0.1
    np.testing.assert_allclose((_init.self_tuning_graph(7.0 * X, 10) - graph).data, 0, atol=1e-12)


def test_the_spectral_start_parts_small_groups_from_a_large_one():
    # 500, 100 and 50 rows: the extra eigenvectors of the diffusion map cut
    # the large group in pieces, and the K-eigenvector partition is kept
    X, y = make_blobs(1500, centers=3, random_state=170)
    X = np.vstack([X[y == 0][:500], X[y == 1][:100], X[y == 2][:50]])
    y = np.repeat([0, 1, 2], [500, 100, 50])
    assert clustering_accuracy(y, _init.spectral_labels(X, 3, seed=0)) == 1.0


@pytest.mark.parametrize("seed", [5, 7])
def test_the_spectral_start_parts_noisy_rings(seed):
    # with these seeds the KMeans run of least inertia on the diffusion map
    # cuts both rings across; another run parts them, with a far smaller cut
    X, y = make_circles(1000, noise=0.08, factor=0.5, random_state=0)
    assert clustering_accuracy(y, _init.spectral_labels(X, 2, seed=seed)) > 0.99


def test_a_separating_partition_replaces_the_least_inertia_one_only_below_the_cut():
    X, y = make_circles(1000, noise=0.08, factor=0.5, random_state=0)
    graph = _init.self_tuning_graph(X, 25)
    values, vectors = _init.leading_eigenvectors(graph, 4, seed=0)
    maps = vectors * values**3
    across = (X[:, 0] > 0).astype(int)  # both rings cut in halves
    parted = _init.separating_partition(graph, maps, across, 2, seed=0)
    assert clustering_accuracy(y, parted) > 0.99
    assert _init.weighted_cut(graph, parted, 2) < _init.SPECTRAL_SEPARATED_CUT
    # where no partition cuts that little, the one of least inertia stays
    blobs, _ = make_blobs(300, centers=[[0, 0], [1.5, 0]], random_state=0)
    graph = _init.self_tuning_graph(blobs, 25)
    values, vectors = _init.leading_eigenvectors(graph, 4, seed=0)
    maps = vectors * values**3
    given = (blobs[:, 1] > 0).astype(int)
    kept = _init.separating_partition(graph, maps, given, 2, seed=0)
    assert _init.weighted_cut(graph, given, 2) > _init.SPECTRAL_SEPARATED_CUT
    runs = [
        _init.cut_spectral_rows(maps, 2, r, n_init=1)
        for r in range(1, _init.SPECTRAL_ROUNDINGS + 1)
    ]
    least = min(_init.map_inertia(maps, labels) for labels in runs)
    assert _init.map_inertia(maps, kept) == least < _init.map_inertia(maps, given)


def test_map_inertia_is_the_objective_kmeans_reports():
    from sklearn.cluster import KMeans

    X, _ = make_blobs(300, centers=4, n_features=5, random_state=0)
    fitted = KMeans(4, n_init=3, random_state=0).fit(_init.unit_rows(X))
    assert np.isclose(_init.map_inertia(X, fitted.labels_), fitted.inertia_, rtol=1e-6)


def test_the_spectral_start_keeps_its_given_partition_where_no_run_improves_it():
    X, _ = make_blobs(300, centers=[[0, 0], [1.5, 0]], random_state=0)
    graph = _init.self_tuning_graph(X, 25)
    values, vectors = _init.leading_eigenvectors(graph, 4, seed=0)
    maps = vectors * values**3
    best = _init.cut_spectral_rows(maps, 2, 0, n_init=50)
    kept = _init.separating_partition(graph, maps, best, 2, seed=0)
    assert adjusted_rand_score(best, kept) == 1.0  # the same partition


def test_self_tuning_graph_keeps_repeated_rows_joined_to_their_group():
    from scipy.sparse.csgraph import connected_components

    # every row 10 times: its 7th neighbour is a copy, yet its edges to
    # the other rows of its blob must keep a weight
    X, y = make_blobs(30, centers=3, cluster_std=0.5, random_state=0)
    graph = _init.self_tuning_graph(np.repeat(X, 10, axis=0), 25)
    graph.eliminate_zeros()
    n_pieces, pieces = connected_components(graph)
    assert n_pieces == 3
    assert clustering_accuracy(np.repeat(y, 10), pieces) == 1.0


def test_weighted_cut_is_the_mean_share_of_weight_leaving_each_cluster():
    from scipy import sparse

    graph = sparse.csr_matrix(np.array([[0, 3, 1], [3, 0, 0], [1, 0, 0]], float))
    # cluster 0 = rows 0, 1 (volume 4 + 3, cut 1); cluster 1 = row 2 (volume 1, cut 1)
    assert _init.weighted_cut(graph, np.array([0, 0, 1]), 2) == (1 / 7 + 1) / 2
    assert _init.weighted_cut(graph, np.array([0, 0, 0]), 2) == (0 + 1) / 2


def test_initial_components_return_the_partition_of_the_start():
    X, y = make_blobs(600, centers=3, cluster_std=0.5, random_state=1)
    means, variances, labels = _init.initial_components(
        X, 3, seed=0, method="spectral", return_labels=True
    )
    assert clustering_accuracy(y, labels) == 1.0
    for k in range(3):
        np.testing.assert_allclose(means[k], X[labels == k].mean(0))
        np.testing.assert_allclose(variances[k], X[labels == k].var(0))
    *_, none = _init.initial_components(X, 3, seed=0, method="gmm", return_labels=True)
    assert (none == -1).all()


def test_neighbour_indices_leave_each_row_out():
    X = np.arange(12, dtype=float).reshape(6, 2)
    near = _init.neighbor_indices(X, 2)
    assert near.shape == (6, 2)
    assert not (near == np.arange(6)[:, None]).any()
    assert _init.neighbor_indices(X, 50).shape == (6, 5)


def test_targets_are_the_neighbours_weighted_mean_of_the_moved_memory():
    X, _ = make_blobs(60, centers=3, random_state=0)
    model = GMVAEClustering(3, max_iter=1, pretrain_epochs=2, random_state=0).fit(X)
    net, rows = model._net, model._scaling.tensor(X, "cpu")
    graph = _train.build_graph(net, rows, 32, 4, labels=np.arange(60) % 3)
    assert graph.neighbors.shape == (60, 4)
    np.testing.assert_array_equal(graph.memory.argmax(1).numpy(), np.arange(60) % 3)
    targets, memory = _train.neighbour_targets(graph, net, rows, 32)
    probs = _train.posterior_probs(net, rows, 32)
    m = _train.GRAPH_MEMORY
    torch.testing.assert_close(memory, m * graph.memory + (1 - m) * probs)
    assert graph.weights.shape == (60, 4)
    torch.testing.assert_close(graph.weights.sum(1), torch.ones(60))
    expected = (memory[graph.neighbors.long()] * graph.weights[:, :, None]).sum(1)
    torch.testing.assert_close(targets, expected)
    torch.testing.assert_close(targets.sum(1), torch.ones(60))
    # a graph without weights (saved by an earlier version) takes equal shares
    graph.weights = None
    targets, memory = _train.neighbour_targets(graph, net, rows, 32)
    torch.testing.assert_close(targets, memory[graph.neighbors.long()].mean(1))


def test_one_pass_gives_the_posterior_means_and_probabilities_bit_for_bit():
    X, _ = make_blobs(70, centers=3, random_state=1)
    model = GMVAEClustering(3, max_iter=1, pretrain_epochs=2, random_state=0).fit(X)
    net, rows = model._net, model._scaling.tensor(X, "cpu")
    means, probs = _train.posterior_means_and_probs(net, rows, 32)
    assert torch.equal(means, _train.encode_means(net, rows, 32))
    assert torch.equal(probs, _train.posterior_probs(net, rows, 32))


def _two_groups():
    """Two tight groups of ten rows, 10 apart, a short fit on them, its
    network and scaled rows, and each row's group."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.1, (10, 2)), rng.normal(10, 0.1, (10, 2))])
    model = GMVAEClustering(2, max_iter=1, pretrain_epochs=2, random_state=0).fit(X)
    return X, model._net, model._scaling.tensor(X, "cpu"), np.repeat([0, 1], 10)


def test_neighbours_across_a_gap_count_little_in_a_target():
    # two tight groups 10 apart; each row's 12 nearest neighbours include
    # rows of the other group, whose memory must barely reach its target
    X, net, rows, side = _two_groups()
    graph = _train.build_graph(net, rows, 32, 12, embedding=torch.as_tensor(X), labels=side)
    crossing = side[graph.neighbors.numpy()] != side[:, None]
    assert crossing.any(axis=1).all()
    assert graph.weights.numpy()[crossing].max() < 1e-6
    graph.memory = torch.nn.functional.one_hot(torch.as_tensor(side), 2).float()
    targets, _ = _train.neighbour_targets(graph, net, rows, 32)
    assert (targets.numpy()[np.arange(20), side] > 0.99 * _train.GRAPH_MEMORY).all()


def test_default_fit_keeps_each_moon_whole():
    # the plain bound (graph_weight=0) cuts across the moons from the same
    # start; the neighbour term keeps the start's partition
    X, y = make_moons(600, noise=0.06, random_state=0)
    model = GMVAEClustering(2, max_iter=30, random_state=0).fit(X)
    assert clustering_accuracy(y, model.labels_) >= 0.95


def test_the_graph_follows_the_rows_of_each_call():
    X, _ = make_blobs(90, centers=3, random_state=0)
    model = GMVAEClustering(3, max_iter=2, pretrain_epochs=2, random_state=0)
    model.set_params(warm_start=True).fit(X)
    graph = model._train_state.graph
    model.fit(X)  # the same rows: the graph and memory carry on
    assert model._train_state.graph.checksum == graph.checksum
    model.partial_fit(X[:40])  # other rows: a new graph
    assert model._train_state.graph.neighbors.shape[0] == 40
    off = GMVAEClustering(3, max_iter=2, pretrain_epochs=2, graph_weight=0.0).fit(X)
    assert off._train_state.graph is None


def test_umap_labels_cut_the_layout_and_leave_rows_out():
    pytest.importorskip("umap", reason="umap-learn is optional: pip install -e \".[umap]\"")
    X, y = make_circles(600, noise=0.04, factor=0.5, random_state=0)
    labels, layout = _init.umap_labels(X, 2, seed=0)
    assert layout.shape == (600, 2)
    assert clustering_accuracy(y, labels) == 1.0
    part, layout = _init.umap_labels(X, 2, seed=0, max_rows=300)
    assert (part >= 0).sum() == 300 and layout.shape == (300, 2)


def test_the_umap_start_lays_out_the_neighbour_graph():
    pytest.importorskip("umap", reason="umap-learn is optional: pip install -e \".[umap]\"")
    X, _ = make_moons(300, noise=0.06, random_state=0)
    model = GMVAEClustering(2, max_iter=1, pretrain_epochs=2, random_state=0).fit(X)
    rows = model._scaling.tensor(X, "cpu")
    space, labels, _, _ = _train.init_from_autoencoder(model._net, rows, 64, 0, "umap", 25)
    assert space.shape == (300, 2)  # neighbours in the layout, not the embedding
    assert (labels >= 0).all()
    space, _, _, _ = _train.init_from_autoencoder(model._net, rows, 64, 0, "spectral", 25)
    assert space.shape == (300, model.latent_dim)


def test_the_umap_start_falls_back_to_spectral_without_umap(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "umap", None)
    X, _ = make_blobs(300, centers=3, random_state=0)
    assert _init.umap_labels(X, 3, seed=0) == (None, None)
    umap_start = _init.initial_components(X, 3, 0, "umap", return_labels=True)
    spectral = _init.initial_components(X, 3, 0, "spectral", return_labels=True)
    for got, expected in zip(umap_start, spectral):
        np.testing.assert_array_equal(got, expected)


def test_graph_leak_is_the_mean_share_of_edges_leaving_each_cluster():
    # two triangles joined by one edge (2-3); neighbours given per row
    near = np.array([[1, 2], [0, 2], [0, 3], [4, 5], [3, 5], [3, 4]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    # each triangle holds 7 edge ends, one of which (2-3 / 3-2) leaves it
    assert _init.graph_leak(near, labels, 2) == pytest.approx(1 / 7)
    # a cluster cut through a triangle leaks more; an empty one counts as 1
    assert _init.graph_leak(near, np.array([0, 0, 1, 1, 1, 1]), 2) > 1 / 7
    assert _init.graph_leak(near, labels, 3) == pytest.approx((2 / 7 + 1) / 3)


def test_the_checked_start_refuses_a_partition_that_cuts_a_group(monkeypatch):
    X, y = make_blobs(300, centers=3, cluster_std=0.5, random_state=1)
    near = _init.neighbor_indices(X, 25)
    spectral = _init.spectral_labels(X, 3, seed=0)
    assert clustering_accuracy(y, spectral) == 1.0
    # one blob split in two and the other two merged: refused
    bad = np.where(y == 2, 0, 1 + (X[:, 0] > np.median(X[y == 0, 0])) * (y == 0))
    assert not _init.umap_partition_holds(near, bad, spectral, 3)
    # as good as the spectral partition (up to the names): kept
    assert _init.umap_partition_holds(near, (spectral + 1) % 3, spectral, 3)
    # the bound decides
    excess = _init.graph_leak(near, bad, 3) - _init.graph_leak(near, spectral, 3)
    monkeypatch.setattr(_init, "CHECKED_MAX_EXTRA_LEAK", excess + 1e-9)
    assert _init.umap_partition_holds(near, bad, spectral, 3)


def test_the_checked_start_keeps_a_good_umap_partition_and_its_layout():
    pytest.importorskip("umap", reason="umap-learn is optional: pip install -e \".[umap]\"")
    X, y = make_blobs(300, centers=3, cluster_std=0.5, random_state=1)
    labels, layout = _init.checked_labels(X, 3, seed=0)
    expected, umap_layout = _init.umap_labels(X, 3, seed=0)
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(layout, umap_layout)
    assert clustering_accuracy(y, labels) == 1.0


def test_the_checked_start_is_the_spectral_start_without_umap(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "umap", None)
    X, _ = make_blobs(300, centers=3, random_state=0)
    checked = _init.initial_components(X, 3, 0, "checked", return_labels=True)
    spectral = _init.initial_components(X, 3, 0, "spectral", return_labels=True)
    for got, expected in zip(checked, spectral):
        np.testing.assert_array_equal(got, expected)


def test_start_leak_is_the_mean_share_of_neighbour_weight_across_clusters():
    near = np.array([[1, 2], [0, 2], [0, 1]])
    weights = np.array([[0.75, 0.25], [1.0, 0.0], [0.5, 0.5]])
    # row 0 sends 0.25 to the other cluster, row 1 nothing, row 2 all of it
    assert _train.start_leak(near, weights, [0, 0, 1]) == pytest.approx(1.25 / 3)
    assert _train.start_leak(near, weights, [1, 1, 1]) == 0.0


def test_a_start_whose_clusters_the_graph_separates_is_held():
    X, net, rows, side = _two_groups()

    def graph(labels, hold=True, firm=False):
        embedding = torch.as_tensor(X)
        return _train.build_graph(net, rows, 32, 5, embedding, labels, hold=hold, firm=firm)

    held = graph(side)
    assert held.held
    assert not graph(side, hold=False).held
    assert not graph(np.arange(20) % 2).held  # cuts through both groups
    assert not graph(None).held
    assert not graph(np.where(np.arange(20) < 3, -1, side)).held  # rows unlabelled
    # a firm start is held whatever its leak, still only with hold and every
    # row labelled
    assert graph(np.arange(20) % 2, firm=True).held
    assert not graph(np.arange(20) % 2, hold=False, firm=True).held
    assert not graph(np.where(np.arange(20) < 3, -1, side), firm=True).held
    # a held graph keeps its memory at the start's partition
    targets, memory = _train.neighbour_targets(held, net, rows, 32)
    torch.testing.assert_close(memory, held.memory)
    np.testing.assert_array_equal(targets.argmax(1).numpy(), side)
    moving = graph(side, hold=False)
    _, moved = _train.neighbour_targets(moving, net, rows, 32)
    assert not torch.equal(moved, moving.memory)


def test_an_own_cluster_hold_targets_each_row_at_its_start_cluster():
    X, net, rows, side = _two_groups()
    mixed = np.arange(20) % 2  # cuts through both groups: a leak of one half

    def graph(labels, hold=True):
        embedding = torch.as_tensor(X)
        return _train.build_graph(net, rows, 32, 5, embedding, labels, hold=hold, own=True)

    own = graph(mixed)
    assert own.held and own.own
    np.testing.assert_array_equal(own.neighbors.numpy().ravel(), np.arange(20))
    targets, memory = _train.neighbour_targets(own, net, rows, 32)
    torch.testing.assert_close(memory, own.memory)
    # each row's target is its own start cluster, not its neighbours'
    np.testing.assert_array_equal(targets.argmax(1).numpy(), mixed)
    assert torch.all(targets.max(1).values == 1.0)
    # only with hold and every row labelled; else the graph of neighbours
    for other in (graph(mixed, hold=False), graph(np.where(side == 0, -1, mixed))):
        assert not other.own and not other.held and other.neighbors.shape == (20, 5)


def _gaussian_classes():
    """Three Gaussian classes in eight features that the embedding bends
    together: the default starts from a Gaussian mixture of the input."""
    return make_classification(
        1000, n_features=8, n_informative=5, n_classes=3, n_clusters_per_class=1,
        random_state=0,
    )


def test_a_gaussian_start_is_held_at_each_rows_own_cluster(monkeypatch, capsys):
    X, y = _gaussian_classes()
    model = GMVAEClustering(3, random_state=0, verbose=1).fit(X)
    assert model._train_state.graph.own and model._train_state.graph.held
    assert "holds each row at its own start cluster" in capsys.readouterr().out
    held = clustering_accuracy(y, model.labels_)
    # the same fit whose neighbour term averages the rows' neighbours: the
    # embedding's graph blurs the classes the input mixture parts
    monkeypatch.setattr(_train, "OWN_CLUSTER_STARTS", ())
    other = GMVAEClustering(3, random_state=0).fit(X)
    assert not other._train_state.graph.own
    assert held >= 0.97 and held > clustering_accuracy(y, other.labels_) + 0.01


def test_an_own_cluster_hold_ends_with_an_explicit_graph_weight():
    X, _ = _gaussian_classes()
    model = GMVAEClustering(3, max_iter=2, warm_start=True, random_state=0).fit(X)
    assert model._train_state.graph.own
    restored = pickle.loads(pickle.dumps(model))
    assert restored._train_state.graph.own and restored._train_state.graph.held
    model.set_params(graph_weight=1.0).fit(X)
    graph = model._train_state.graph
    assert not graph.held and not graph.own
    assert graph.neighbors.shape[1] > 1


def test_a_spectral_start_with_factored_components_is_held_whatever_its_leak(monkeypatch):
    # the digits 3 and 8 touch in the graph (a leak above HOLD_MAX_LEAK),
    # have the rows for factors and too few for a full covariance of their
    # 64 pixels: the default holds the spectral start
    X, y = load_digits(return_X_y=True)
    X = X[np.isin(y, [3, 8])]
    params = dict(random_state=0, pretrain_epochs=20, max_iter=2)
    model = GMVAEClustering(2, **params).fit(X)
    graph = model._train_state.graph
    assert graph.held and not graph.own
    labels = graph.memory.argmax(1).numpy()
    near, weights = _init.neighbour_shares(model.transform(X).astype(float), 15)
    assert _train.start_leak(near, weights, labels) > _train.HOLD_MAX_LEAK
    # without the rule, or without factors, the same start follows the model
    monkeypatch.setattr(_train, "HOLD_FACTORED_STARTS", ())
    assert not GMVAEClustering(2, **params).fit(X)._train_state.graph.held
    monkeypatch.undo()
    monkeypatch.setattr(_train, "FACTOR_STARTS", ())
    assert not GMVAEClustering(2, **params).fit(X)._train_state.graph.held


def test_only_the_auto_graph_weight_holds_a_start():
    from skgmvae._fitting import fit_params

    def params(**kw):
        return fit_params(GMVAEClustering(2, **kw), 200, None, 0.0, 10)

    assert params().hold_start and params().graph_weight == 1.0
    assert not params(graph_weight=1.0).hold_start


def test_an_explicit_graph_weight_never_holds(capsys):
    X, _ = make_moons(200, noise=0.06, random_state=0)
    model = GMVAEClustering(2, graph_weight=1.0, random_state=1, verbose=1).fit(X)
    assert not model._train_state.graph.held
    assert "holds them" not in capsys.readouterr().out
    # nor when a held run is continued with one
    model = GMVAEClustering(2, max_iter=2, warm_start=True, random_state=1).fit(X)
    assert model._train_state.graph.held
    model.set_params(graph_weight=1.0).fit(X)
    assert not model._train_state.graph.held


@pytest.mark.parametrize("seed", [1, 2])
def test_default_fit_holds_small_moons_it_starts_right(seed, capsys):
    # 200 rows: the spectral start is right, and the bound alone, or a
    # neighbour term that follows the model, gives up rows at the tips
    X, y = make_moons(200, noise=0.06, random_state=0)
    model = GMVAEClustering(2, random_state=seed, verbose=1).fit(X)
    assert model._train_state.graph.held
    assert "the neighbour term holds them" in capsys.readouterr().out
    assert clustering_accuracy(y, model.labels_) >= 0.98
    assert pickle.loads(pickle.dumps(model))._train_state.graph.held


def test_a_split_ends_the_hold_of_the_start(capsys):
    X, _ = make_blobs(300, centers=3, cluster_std=0.5, random_state=1)
    kw = dict(max_iter=4, pretrain_epochs=5, random_state=0)
    assert GMVAEClustering(3, **kw).fit(X)._train_state.graph.held
    grown = GMVAEClustering(6, grow_from=3, **kw).fit(X)
    assert grown.n_iter_ == 4 and not grown._train_state.graph.held
    # a split before the first epoch: no epoch is held, and none is said to be
    kw.update(max_iter=1, verbose=1)
    grown = GMVAEClustering(6, grow_from=3, **kw).fit(X)
    out = capsys.readouterr().out
    assert "split to 6" in out and "holds them" not in out


def test_neighbour_count_is_read_only_where_auto_builds_a_graph(monkeypatch):
    """With ``init_params`` and ``graph_weight`` at "auto", a data set above
    ``NEIGHBOUR_MAX_ROWS`` starts from the consensus partition without the
    neighbour term, so ``n_neighbors`` changes nothing until the last epochs'
    graph of the trained model; at or below it, both graphs are built from
    ``n_neighbors`` neighbours and the fits differ."""
    from skgmvae import _fitting

    X, _ = make_moons(300, noise=0.08, random_state=0)

    def fit(n_neighbors, rows=X):
        return GMVAEClustering(
            2, n_neighbors=n_neighbors, max_iter=3, pretrain_epochs=5, random_state=0
        ).fit(rows)

    small = [fit(k) for k in (5, 40)]
    assert small[0].lower_bound_ != small[1].lower_bound_
    # "auto" takes 15 neighbours on these 300 rows, 25 on 250 or fewer
    assert fit("auto").lower_bound_ == fit(15).lower_bound_
    fits = [fit(k, X[:250]).lower_bound_ for k in ("auto", 25, 15)]
    assert fits[0] == fits[1] != fits[2]
    monkeypatch.setattr(_fitting, "NEIGHBOUR_MAX_ROWS", 100)
    # the last epochs' graph (a call of more than 3 epochs, after the warm-up)
    longer = [
        GMVAEClustering(
            2, n_neighbors=k, max_iter=5, kl_warmup=1, pretrain_epochs=5, random_state=0
        ).fit(X)
        for k in (5, 40)
    ]
    assert longer[0].lower_bound_ != longer[1].lower_bound_
    large = [fit(k) for k in (5, 40)]  # 3 epochs: none on that graph
    assert large[0].lower_bound_ == large[1].lower_bound_
    np.testing.assert_array_equal(large[0].labels_, large[1].labels_)
