"""The initial mixture: consensus partition of the pretrained embedding."""

import itertools

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.mixture import GaussianMixture

from skgmvae import _init, _train
from skgmvae.metrics import clustering_accuracy


@pytest.mark.parametrize("seed", [0, 1])
def test_consensus_partition_follows_curved_clusters(seed):
    # two moons: a maximum-likelihood Gaussian mixture cuts across them, the
    # consensus of KMeans over-clusterings keeps each moon whole
    X, y = make_moons(1000, noise=0.06, random_state=seed)
    labels = _init.consensus_partition(X, 2, np.random.default_rng(seed))
    gmm = GaussianMixture(2, random_state=seed).fit_predict(X)
    assert clustering_accuracy(y, gmm) < 0.9
    assert clustering_accuracy(y, labels) > 0.98


@pytest.mark.parametrize("n_runs", [20, 300])
def test_co_association_distances_are_one_minus_the_share_of_agreeing_runs(
    monkeypatch, n_runs
):
    # the definition, computed pair by pair from the same KMeans runs; 300
    # runs overflow a byte, so the votes need wider integers
    from scipy.spatial.distance import squareform
    from sklearn.cluster import KMeans

    monkeypatch.setattr(_init, "CONSENSUS_RUNS", n_runs)
    X, _ = make_blobs(40, n_features=2, centers=3, random_state=0)
    got = _init.co_association_distances(X, 6, np.random.default_rng(3))
    seeds = np.random.default_rng(3).integers(0, 2**31 - 1, size=n_runs)
    runs = [KMeans(6, n_init=1, random_state=int(s)).fit_predict(X) for s in seeds]
    agree = np.zeros((40, 40))
    for labels in runs:
        for i in range(40):
            for j in range(40):
                agree[i, j] += labels[i] == labels[j]
    expected = squareform(1.0 - agree / n_runs, checks=False)
    assert got.dtype == np.float32 and got.shape == (40 * 39 // 2,)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.min() < 0.5 < got.max()  # some pairs split, some together


def test_consensus_partition_is_seeded():
    X, _ = make_blobs(600, centers=4, cluster_std=2.0, random_state=0)
    first = _init.consensus_partition(X, 4, np.random.default_rng(3))
    again = _init.consensus_partition(X, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(first, again)
    assert set(first) == set(range(4))


def test_too_few_rows_fall_back_to_a_gaussian_mixture():
    n_components = 3
    needed = (
        _init.CONSENSUS_MIN_CLUSTER_ROWS * _init.CONSENSUS_OVERCLUSTER * n_components
    )
    X, _ = make_blobs(needed - 1, centers=n_components, random_state=0)
    assert _init.consensus_partition(X, n_components, np.random.default_rng(0)) is None
    enough, _ = make_blobs(needed, centers=n_components, random_state=0)
    assert (
        _init.consensus_partition(enough, n_components, np.random.default_rng(0))
        is not None
    )


def test_initial_components_are_the_moments_of_the_clusters():
    centers = np.array([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    stds = [0.5, 1.0, 2.0]
    X, y = make_blobs(900, centers=centers, cluster_std=stds, random_state=0)
    means, variances = _init.initial_components(X, 3, seed=0)
    order = [int(np.argmin(((means - c) ** 2).sum(1))) for c in centers]
    assert sorted(order) == [0, 1, 2]
    for k, j in enumerate(order):
        np.testing.assert_allclose(means[j], X[y == k].mean(0))
        np.testing.assert_allclose(variances[j], X[y == k].var(0))


def test_consensus_runs_on_a_seeded_subset_of_large_data():
    X, y = make_blobs(2000, centers=3, n_features=4, random_state=0)
    first = _init.consensus_components(X, 3, seed=5, max_rows=400)
    again = _init.consensus_components(X, 3, seed=5, max_rows=400)
    other = _init.consensus_components(X, 3, seed=6, max_rows=400)
    whole = _init.consensus_components(X, 3, seed=5, max_rows=2000)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    # on all rows the means are the blobs' means; a subset's are near them
    truth = np.stack([X[y == k].mean(0) for k in range(3)])
    assert np.allclose(np.sort(whole[0], 0), np.sort(truth, 0))
    assert not np.allclose(np.sort(first[0], 0), np.sort(truth, 0))
    assert np.allclose(np.sort(first[0], 0), np.sort(truth, 0), atol=0.3)


@pytest.mark.parametrize("n_clusters", [2, 5, 9])
def test_average_linkage_labels_match_agglomerative_clustering(n_clusters):
    from scipy.spatial.distance import squareform
    from sklearn.cluster import AgglomerativeClustering, KMeans

    # a co-association distance, full of ties, as consensus_partition builds
    X, _ = make_blobs(400, centers=6, cluster_std=3.0, random_state=0)
    votes = np.zeros((400, 400), dtype=np.float32)
    for seed in range(7):
        labels = KMeans(15, n_init=1, random_state=seed).fit_predict(X)
        votes += labels[:, None] == labels[None, :]
    distance = 1.0 - votes / np.float32(7)
    expected = AgglomerativeClustering(
        n_clusters, metric="precomputed", linkage="average"
    ).fit_predict(distance)
    got = _init.average_linkage_labels(
        squareform(distance, checks=False), 400, n_clusters
    )
    np.testing.assert_array_equal(got, expected)


def _blobs_and_far_outliers():
    centers = [[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]]
    X, y = make_blobs(900, centers=centers, random_state=0)
    far = np.random.default_rng(0).normal([40.0, 40.0], 1.0, size=(10, 2))
    return np.vstack([X, far]), y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_consensus_partition_leaves_small_outlying_groups_out(seed):
    # average linkage cuts the 10 far rows off first; kept as a cluster they
    # would leave two clusters for three blobs
    X, y = _blobs_and_far_outliers()
    labels = _init.consensus_partition(X, 3, np.random.default_rng(seed))
    np.testing.assert_array_equal(labels[900:], -1)
    assert clustering_accuracy(y, labels[:900]) == 1.0


def test_consensus_partition_keeps_outliers_as_a_cluster_without_a_minimum(monkeypatch):
    X, y = _blobs_and_far_outliers()
    monkeypatch.setattr(_init, "CONSENSUS_BALANCE", False)
    labels = _init.consensus_partition(X, 3, np.random.default_rng(0), min_share=0.0)
    assert len(set(labels[900:])) == 1 and labels[900] >= 0
    assert not np.isin(labels[:900], labels[900]).any()
    assert clustering_accuracy(y, labels[:900]) < 0.7
    # evened out, that cut splits the two blobs it joined and puts the
    # outliers with one blob
    monkeypatch.setattr(_init, "CONSENSUS_BALANCE", True)
    labels = _init.consensus_partition(X, 3, np.random.default_rng(0), min_share=0.0)
    assert sorted(np.bincount(labels)) == [300, 300, 310]
    assert clustering_accuracy(y, labels[:900]) == 1.0


def test_initial_components_ignore_the_outliers():
    X, y = _blobs_and_far_outliers()
    means, _ = _init.initial_components(X, 3, seed=0)
    expected = np.stack([X[:900][y == k].mean(0) for k in range(3)])
    order = [int(np.argmin(((means - m) ** 2).sum(1))) for m in expected]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(means[order], expected)


def test_average_linkage_labels_fall_back_to_the_plain_cut():
    from scipy.spatial.distance import pdist

    X, _ = make_blobs(60, centers=3, random_state=0)
    condensed = pdist(X)
    plain = _init.average_linkage_labels(condensed, 60, 3)
    # no subtree holds 61 rows: the plain cut comes back
    np.testing.assert_array_equal(
        _init.average_linkage_labels(condensed, 60, 3, min_size=61), plain
    )
    assert set(plain) == {0, 1, 2}
    with pytest.raises(ValueError, match="cannot cut 60 rows into 61"):
        _init.average_linkage_labels(condensed, 60, 61)


def _net(n_components, seed=0):
    import torch

    from skgmvae._model import build_net

    config = {
        "n_features": 6,
        "n_components": n_components,
        "latent_dim": 2,
        "noise_dim": 3,
        "hidden_layer_sizes": (16,),
        "prior_hidden": 8,
        "likelihood": "gaussian",
    }
    net = build_net(config, seed)
    with torch.no_grad():  # components that move with w
        net.prior_head.weight.normal_(generator=torch.Generator().manual_seed(seed))
    return net


def test_split_prior_children_copy_their_parent():
    import torch

    net = _net(3)
    w = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    mean, logvar = net.prior(w)
    parents = [2, 0, 2, 1]
    offsets = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0], [0.5, 0.5]])
    net.split_prior(parents, offsets)
    assert net.n_components == 4 and net.prior_head.out_features == 16
    child_mean, child_logvar = net.prior(w)
    torch.testing.assert_close(child_mean, mean[:, parents] + offsets)
    torch.testing.assert_close(child_logvar, logvar[:, parents])
    # given variances replace the parent's, and no longer depend on w
    variances = torch.tensor([[0.5, 2.0], [1.0, 3.0]])
    net.split_prior([3, 0], torch.zeros(2, 2), variances)
    child_mean, child_logvar = net.prior(w)
    torch.testing.assert_close(child_mean, mean[:, [1, 2]] + offsets[[3, 0]])
    torch.testing.assert_close(
        child_logvar.exp(), variances.expand(5, 2, 2), atol=1e-4, rtol=1e-4
    )


def test_grow_components_keeps_what_each_parent_learnt_about_w():
    import torch

    X, _ = make_blobs(300, n_features=6, centers=3, random_state=0)
    X = torch.as_tensor(X, dtype=torch.float32)
    net = _net(3)
    w = torch.randn(7, 3, generator=torch.Generator().manual_seed(2))
    mean, _ = net.prior(w)
    _, labels, _ = _train.posterior_components(net, X, 64)
    _train.grow_components(net, X, 7, 64, seed=0)
    assert net.n_components == 7
    child_mean, child_logvar = net.prior(w)
    # every child is its parent moved by a fixed offset, whatever w; the
    # children of a parent are as many as allocate_components gives it
    parents = []
    for j in range(7):
        shift = child_mean[:, j, None] - mean  # (w, parent, Dx)
        fixed = (shift - shift[:1]).abs().amax(dim=(0, 2)) < 1e-5
        assert fixed.sum() == 1
        parents.append(int(fixed.nonzero()))
    counts = _init.allocate_components(np.bincount(labels.numpy(), minlength=3), 7)
    np.testing.assert_array_equal(np.bincount(parents, minlength=3), counts)
    # their variances are those of their clusters: one per child, not per w
    torch.testing.assert_close(child_logvar, child_logvar[:1].expand(7, -1, -1))


def test_init_params_choose_the_start():
    from sklearn.datasets import load_digits

    from skgmvae import GMVAEClustering

    X = load_digits().data[:600]
    seen = []

    def start(embedding, n_components, seed):
        seen.append((embedding.shape, embedding.dtype, n_components, type(seed)))
        return _init.gmm_components(embedding, n_components, seed)

    params = dict(
        n_components=3,
        latent_dim=4,
        hidden_layer_sizes=(32,),
        max_iter=1,
        pretrain_epochs=2,
        random_state=0,
    )
    by_name = GMVAEClustering(init_params="gmm", **params).fit(X)
    by_callable = GMVAEClustering(init_params=start, **params).fit(X)
    consensus = GMVAEClustering(**params).fit(X)
    assert seen == [((600, 4), np.float64, 3, int)]
    np.testing.assert_array_equal(by_name.predict_proba(X), by_callable.predict_proba(X))
    assert not np.array_equal(by_name.predict_proba(X), consensus.predict_proba(X))
    with pytest.raises(ValueError, match="init_params"):
        GMVAEClustering(init_params="kmeans", **params).fit(X)


def _two_close_and_one_halved_group(rng):
    # on a line: groups A and B one unit apart, group C in two halves two
    # units apart, group D far off; 100 rows a group
    parts = [
        rng.normal(0.0, 0.05, 100),  # A
        rng.normal(1.0, 0.05, 100),  # B
        rng.normal(10.0, 0.05, 50),  # C, first half
        rng.normal(12.0, 0.05, 50),  # C, second half
        rng.normal(30.0, 0.05, 100),  # D
    ]
    y = np.repeat([0, 1, 2, 2, 3], [100, 100, 50, 50, 100])
    return np.concatenate(parts)[:, None], y


def test_balanced_cut_splits_the_double_cluster_and_joins_the_halves():
    from scipy.spatial.distance import pdist

    X, y = _two_close_and_one_halved_group(np.random.default_rng(0))
    condensed = pdist(X)
    plain = _init.average_linkage_labels(condensed, len(X), 4)
    # the plain cut holds A and B in one cluster and C in two
    assert np.bincount(plain).tolist() != [100] * 4
    assert len(set(plain[y == 0]) | set(plain[y == 1])) == 1
    assert len(set(plain[y == 2])) == 2
    balanced = _init.average_linkage_labels(condensed, len(X), 4, balance=True)
    assert clustering_accuracy(y, balanced) == 1.0


def test_balanced_cut_keeps_an_even_cut():
    from scipy.spatial.distance import pdist

    X, y = make_blobs(400, centers=4, cluster_std=0.5, random_state=0)
    condensed = pdist(X)
    plain = _init.average_linkage_labels(condensed, 400, 4)
    balanced = _init.average_linkage_labels(condensed, 400, 4, balance=True)
    np.testing.assert_array_equal(balanced, plain)
    assert clustering_accuracy(y, plain) == 1.0


def test_balanced_groups_stop_when_no_move_evens_the_sizes():
    from scipy.spatial.distance import pdist

    # the largest cluster's two subtrees are a 90/10 split: splitting it and
    # joining two others leaves the sizes less even, so nothing moves
    rng = np.random.default_rng(1)
    X = np.concatenate(
        [rng.normal(0.0, 0.05, 90), rng.normal(3.0, 0.05, 10),
         rng.normal(20.0, 0.05, 60), rng.normal(40.0, 0.05, 60)]
    )[:, None]
    condensed = pdist(X)
    plain = _init.average_linkage_labels(condensed, len(X), 3)
    assert sorted(np.bincount(plain)) == [60, 60, 100]
    balanced = _init.average_linkage_labels(condensed, len(X), 3, balance=True)
    np.testing.assert_array_equal(balanced, plain)


def _balanced_by_hand(groups, nodes, children, square):
    """balanced_groups as its docstring states it, every mean distance read
    afresh from the square matrix; also returns the number of moves."""
    n_rows, moves = len(children) + 1, 0
    for _ in range(len(groups)):
        sizes = [len(g) for g in groups]
        big = int(np.argmax(sizes))
        if nodes[big] is None or nodes[big] < n_rows or len(groups) < 3:
            break
        halves = [_init.subtree_rows(children, h) for h in children[nodes[big] - n_rows]]
        best = None
        for small in set(range(len(groups))) - {big}:
            others = sorted(set(range(len(groups))) - {small, big})
            if not others:
                continue
            near = min(others, key=lambda c: square[np.ix_(groups[small], groups[c])].mean())
            merged = [sizes[small] + sizes[near]] + [len(h) for h in halves]
            kept = [sizes[c] for c in others if c != near]
            entropy = _init.size_entropy(kept + merged)
            if best is None or entropy > best[0]:
                best = (entropy, small, near)
        if best is None or best[0] <= _init.size_entropy(sizes):
            break
        _, small, near = best
        keep = [c for c in range(len(groups)) if c not in (big, small, near)]
        new_nodes = list(children[nodes[big] - n_rows])
        groups = [groups[c] for c in keep] + [np.concatenate([groups[small], groups[near]])] + halves
        nodes = [nodes[c] for c in keep] + [None] + new_nodes
        moves += 1
    return groups, moves


def test_balanced_groups_agree_with_the_rule_over_several_moves():
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist, squareform

    several = 0
    for seed, (n_groups, n_clusters) in itertools.product(range(12), [(16, 8), (20, 10)]):
        rng = np.random.default_rng(seed)
        sizes = rng.integers(5, 60, size=n_groups)
        X = np.concatenate(
            [rng.normal(12.0 * i + rng.uniform(0, 6), 0.4, n) for i, n in enumerate(sizes)]
        )[:, None]
        condensed = pdist(X)
        children = linkage(condensed, method="average")[:, :2].astype(int)
        nodes = [2 * len(X) - 2]
        while len(nodes) < n_clusters:  # the plain cut: split the latest merge
            node = max(nodes)
            nodes.remove(node)
            nodes += list(children[node - len(X)])
        groups = [_init.subtree_rows(children, node) for node in nodes]
        expected, moves = _balanced_by_hand(groups, nodes, children, squareform(condensed))
        found = _init.balanced_groups(groups, nodes, children, condensed)
        assert [sorted(g) for g in found] == [sorted(g) for g in expected]
        several += moves >= 2
    assert several >= 5  # the cached distances are reused across moves


def test_mean_distance_reads_the_condensed_matrix():
    from scipy.spatial.distance import pdist, squareform

    X = np.random.default_rng(2).normal(size=(30, 3))
    condensed = pdist(X)
    first, second = np.array([3, 17, 0]), np.array([29, 5])
    expected = squareform(condensed)[np.ix_(first, second)].mean()
    assert _init.mean_distance(condensed, 30, first, second) == pytest.approx(expected)


def _draws(X, n_components, seed, n_draws):
    """The consensus draws the chosen start picks from, with each row's
    most likely component under each."""
    found = [_init.consensus_labels(X, n_components, seed + d) for d in range(n_draws)]
    assigned = []
    for labels in found:
        means, variances = _init.partition_moments(X, labels, n_components)
        assigned.append(_init.diagonal_gaussian_labels(X, means, variances))
    return found, assigned


def test_the_chosen_consensus_is_the_draw_that_agrees_most_with_the_others(monkeypatch):
    from sklearn.metrics import adjusted_rand_score

    # five touching blobs cut into three clusters: the draws disagree
    X, _ = make_blobs(1200, centers=5, cluster_std=2.5, random_state=3)
    monkeypatch.setattr(_init, "CONSENSUS_DRAWS", 5)
    chosen = _init.chosen_consensus_labels(X, 3, seed=11)
    found, assigned = _draws(X, 3, 11, 5)
    assert len({tuple(a) for a in assigned}) > 1  # a choice to make
    agreement = [
        sum(adjusted_rand_score(a, b) for j, b in enumerate(assigned) if j != i)
        for i, a in enumerate(assigned)
    ]
    best = int(np.argmax(agreement))
    np.testing.assert_array_equal(chosen, found[best])
    # one draw: the plain consensus
    monkeypatch.setattr(_init, "CONSENSUS_DRAWS", 1)
    np.testing.assert_array_equal(
        _init.chosen_consensus_labels(X, 3, seed=11), found[0]
    )


def test_the_chosen_consensus_needs_enough_rows():
    X, _ = make_blobs(60, centers=3, random_state=0)
    assert _init.chosen_consensus_labels(X, 3, seed=0) is None


def test_diagonal_gaussian_labels_weigh_each_components_spread():
    means = np.array([[0.0, 0.0], [4.0, 0.0]])
    variances = np.array([[1.0, 1.0], [9.0, 9.0]])
    rows = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 0.0], [-6.0, 0.0]])
    labels = _init.diagonal_gaussian_labels(rows, means, variances)
    # far out on the narrow component's side, the wide one is likelier
    np.testing.assert_array_equal(labels, [0, 1, 0, 1])
