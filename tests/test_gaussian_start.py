"""The "gaussian" start and the "auto" rule that chooses it over the
spectral start where the spectral clusters touch."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from skgmvae import GMVAEClustering, _init, _train
from skgmvae.datasets import make_spiral
from skgmvae.metrics import clustering_accuracy


def parallel_bars(gap=1.5, seed=0):
    """Three long, thin, parallel Gaussian groups a little apart: a graph of
    the rows joins neighbouring bars, a full covariance per group fits each
    bar."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 150)
    X = np.c_[rng.normal(0, 5.0, len(y)), rng.normal(0, 0.35, len(y)) + gap * y]
    return StandardScaler().fit_transform(X), y


def scaled_blobs():
    """Five Gaussian blobs in three features of very different scales,
    standardised: the spectral partition of the rows themselves puts two
    rows near a boundary on the wrong side, the mixture of the rows does
    not."""
    X, y = make_blobs(1000, centers=5, n_features=3, random_state=1)
    return StandardScaler().fit_transform(X * [1.0, 100.0, 0.01]), y


def boundary_rows(X, y, source, target, count):
    """The ``count`` rows of class ``source`` nearest the mean of class
    ``target`` among those at least twice as far from it as from their own
    class's mean."""
    rows = np.flatnonzero(y == source)
    distance = np.linalg.norm(X[rows] - X[y == target].mean(0), axis=1)
    own = np.linalg.norm(X[rows] - X[rows].mean(0), axis=1)
    rows, distance = rows[distance > 2 * own], distance[distance > 2 * own]
    return rows[np.argsort(distance)[:count]]


def blobs_with_wrong_rows(count):
    """Three Gaussian blobs of 200 rows, their classes, a start that puts
    ``count`` rows of the first blob (:func:`boundary_rows`, on their own
    blob's side) in the second, and those rows."""
    X, y = make_blobs(600, centers=[[0, 0], [5, 0], [0, 5]], random_state=0)
    start = y.copy()
    wrong = boundary_rows(X, y, 0, 1, count)
    start[wrong] = 1
    return X, y, start, wrong


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


def test_refined_labels_move_rows_near_a_boundary_back_to_their_group():
    X, y, start, wrong = blobs_with_wrong_rows(6)  # 1% of the rows
    refined = _init.refined_labels(X, start, 3, 0)
    assert refined is not None
    assert clustering_accuracy(y, refined) > clustering_accuracy(y, start)
    np.testing.assert_array_equal(refined[wrong], y[wrong])


def test_refined_labels_refuse_to_move_more_than_a_few_rows():
    X, _, start, _ = blobs_with_wrong_rows(30)  # 5% of the rows
    assert _init.refined_labels(X, start, 3, 0) is None
    # curved and nested groups: EM from their true partition moves arcs or
    # collapses a ring
    for X, y in (make_moons(600, noise=0.06, random_state=0),
                 make_circles(600, noise=0.05, factor=0.5, random_state=0)):
        assert _init.refined_labels(StandardScaler().fit_transform(X), y, 2, 0) is None


def test_refined_labels_count_moved_rows_by_their_weights():
    X, y, start, wrong = blobs_with_wrong_rows(6)
    weights = np.ones(len(X))
    assert _init.refined_labels(X, start, 3, 0, weights) is not None
    weights[wrong] = 10.0  # the six rows are now 9% of the weight
    assert _init.refined_labels(X, start, 3, 0, weights) is None
    # a cluster without weight has no moments: no refinement, no error
    assert _init.refined_labels(X, start, 3, 0, (y != 2).astype(float)) is None


def test_the_auto_start_refines_a_clean_spectral_partition_of_gaussian_groups():
    X, y = scaled_blobs()
    spectral = _init.spectral_labels(X, 5, 0)
    near, shares = _init.neighbour_shares(X, _init.SPECTRAL_NEIGHBORS)
    assert _init.start_leak(near, shares, spectral) < _init.TOUCHING_LEAK
    *_, labels, taken = _init.initial_components(
        X, 5, 0, "spectral_or_gaussian", return_labels=True, inputs=X, return_method=True
    )
    assert taken == "refined"
    np.testing.assert_array_equal(labels, _init.refined_labels(X, spectral, 5, 0))
    assert clustering_accuracy(y, spectral) < 1.0
    assert clustering_accuracy(y, labels) == 1.0
    # without the input rows, or asked for the spectral start, it is not refined
    *_, taken = _init.initial_components(X, 5, 0, "spectral_or_gaussian", return_method=True)
    assert taken == "spectral"
    *_, taken = _init.initial_components(X, 5, 0, "spectral", inputs=X, return_method=True)
    assert taken == "spectral"


@pytest.mark.parametrize(
    "constant, without_refined",
    [
        ("TURNED_STARTS", ("gaussian",)),  # the latent axes turn
        ("FACTOR_STARTS", ("spectral", "gaussian")),  # factor analysers
        ("OWN_CLUSTER_STARTS", ("gaussian",)),  # each row held at its own cluster
    ],
)
def test_a_refined_start_is_prepared_and_held_as_a_gaussian_one(
    monkeypatch, constant, without_refined
):
    X, _ = scaled_blobs()
    common = dict(n_components=5, pretrain_epochs=20, max_iter=1, random_state=0)
    default = GMVAEClustering(**common).fit(X).transform(X)
    monkeypatch.setattr(_train, constant, without_refined)
    other = GMVAEClustering(**common).fit(X).transform(X)
    assert not np.allclose(default, other)


@pytest.mark.parametrize("method", ["spectral_or_gaussian", "gaussian"])
def test_without_enough_rows_for_a_full_covariance_no_input_mixture_is_the_start(method):
    X, _ = parallel_bars()
    wide = np.c_[X, np.random.default_rng(0).normal(size=(len(X), 38))]  # 40 features
    assert not _init.full_covariance_estimable(len(wide), 40, 3)
    assert _init.input_mixture_labels(wide, 3, 0) is None
    _, _, labels, taken = _init.initial_components(
        wide, 3, 0, method, return_labels=True, inputs=wide, return_method=True
    )
    # the embedding has as many dimensions as the input: its graph is the input's
    space, spectral, leak, _ = _init.graph_space(wide, wide, 3, 0)
    np.testing.assert_array_equal(spectral, _init.spectral_labels(space, 3, 0))
    if method == "gaussian":
        assert taken == "spectral"
        np.testing.assert_array_equal(labels, spectral)
    else:  # the auto start's clusters touch: KMeans on the input rows moves them
        assert leak >= _init.TOUCHING_LEAK and taken == "spherical"
        np.testing.assert_array_equal(labels, _init.spherical_refined(wide, spectral, 3, 0))


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


def binary_groups(seed=0):
    """Four groups of 300 rows in 30 binary features, each feature 1 with
    a probability of its own in each group."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 300)
    odds = rng.uniform(0.1, 0.9, (4, 30))
    return (rng.uniform(size=(len(y), 30)) < odds[y]).astype(float), y


def test_no_input_mixture_whose_cluster_is_flat_on_a_feature():
    """On binary features the likeliest full-covariance mixture has
    clusters that agree exactly on some feature; it is refused, and the
    auto start cuts the graph instead, whose clusters touch: KMeans on the
    input rows, started at them, moves their boundaries."""
    X, y = binary_groups()
    mixture = _init.input_mixture(X, 4, 0)
    assert _init.flat_cluster(X, mixture, 4)
    assert clustering_accuracy(y, mixture) < 0.6
    assert _init.input_mixture_labels(X, 4, 0) is None
    *_, labels, taken = _init.initial_components(
        X, 4, 0, "spectral_or_gaussian", 15, return_labels=True, inputs=X, return_method=True
    )
    space, spectral, leak, _ = _init.graph_space(X, X, 4, 0, 15)
    assert leak >= _init.TOUCHING_LEAK
    assert taken == "spherical"
    np.testing.assert_array_equal(labels, _init.spherical_refined(X, spectral, 4, 0))
    assert clustering_accuracy(y, labels) > clustering_accuracy(y, spectral) + 0.005
    assert clustering_accuracy(y, labels) > 0.93
    # continuous groups never agree exactly; a feature constant over every row is no sign
    blobs, truth = make_blobs(600, centers=3, random_state=0)
    blobs = np.c_[blobs, np.ones(len(blobs))]
    assert not _init.flat_cluster(blobs, truth, 3)
    # a flat cluster among rows of no weight does not count
    flat = np.where(truth == 0, 0.0, blobs[:, 0])
    with_flat = np.c_[blobs, flat]
    assert _init.flat_cluster(with_flat, truth, 3)
    assert not _init.flat_cluster(with_flat, truth, 3, weights=(truth != 0).astype(float))


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
    # keeps the least inertia of all its KMeans runs, 0.96 to 0.98 for the
    # default depending on the CPU's rounding (0.962 on an AMD EPYC with
    # avx512_bf16, about 0.98 elsewhere)
    assert clustering_accuracy(y, auto.labels_) > clustering_accuracy(y, spectral.labels_) + 0.02


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
    out = capsys.readouterr().out
    assert "mixture started from the spectral clusters of the neighbour graph\n" in out
    # two rings: EM of the input's mixture would collapse one into the other,
    # so the start stays spectral and the neighbours' targets hold it
    assert (
        "[elbo] the neighbour graph separates the start's clusters, or the components start "
        "as their factor analysers: the neighbour term holds them\n" in out
    )
    X, _ = scaled_blobs()
    GMVAEClustering(n_components=5, pretrain_epochs=20, max_iter=1, random_state=0, verbose=1).fit(X)
    assert (
        "mixture started from the spectral clusters of the neighbour graph, refined by a full "
        "Gaussian mixture of the input rows" in capsys.readouterr().out
    )
    X, _ = binary_groups()
    GMVAEClustering(n_components=4, pretrain_epochs=5, max_iter=1, random_state=0, verbose=1).fit(X)
    assert (
        "mixture started from the spectral clusters of the neighbour graph, moved by KMeans on "
        "the input rows" in capsys.readouterr().out
    )


def test_a_cluster_of_no_more_rows_than_features_is_undetermined():
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    assert _init.undetermined_cluster(labels, 2, 3)  # three rows, three features
    assert not _init.undetermined_cluster(labels, 2, 2)
    # rows of weight 0 do not count; an empty cluster has no rows at all
    assert _init.undetermined_cluster(labels, 2, 2, weights=[1, 1, 0, 1, 1, 1, 1])
    assert _init.undetermined_cluster(labels, 3, 1)


def test_the_start_cuts_the_graph_of_inputs_of_no_more_features_than_the_embedding():
    """Two moons in 2-D under an embedding of pure noise: the auto start
    parts the moons from the input rows' graph while the embedding has at
    least as many dimensions as the input has features, and, when it has
    fewer, because the noise's graph leaks more than the input rows'."""
    X, y = make_moons(400, noise=0.05, random_state=0)
    noise = np.random.default_rng(0).normal(size=(400, 10))

    def start(embedding):
        out = _init.initial_components(
            embedding, 2, 0, "spectral_or_gaussian", return_labels=True,
            inputs=X, return_method=True,
        )
        return clustering_accuracy(y, out[2]), out[3]

    accuracy, taken = start(noise)
    assert accuracy > 0.99 and taken in ("spectral", "refined")
    assert start(noise[:, :1])[0] > 0.99
    space, labels, leak, count = _init.graph_space(noise, X, 2, 0)
    np.testing.assert_allclose(space, StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(labels, _init.spectral_labels(space, 2, 0))
    assert leak == _init.partition_leak(space, labels)
    assert count == _init.SPECTRAL_NEIGHBORS  # a clean partition: the graph asked for
    assert _init.graph_space(noise[:, :1], X, 2, 0)[0].shape == (400, 2)
    assert _init.graph_space(noise, None, 2, 0)[0] is noise


def turned(X, n_features, noise, seed):
    """The 2-D rows ``X`` turned into ``n_features`` dimensions by one
    random rotation, each dimension past the first two carrying Gaussian
    noise of scale ``noise``."""
    rng = np.random.default_rng(seed)
    turn, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
    return np.c_[X, rng.normal(0, noise, (len(X), n_features - 2))] @ turn


def rotated_circles(n_features, noise, seed=0):
    """Two nested circles turned into ``n_features`` dimensions
    (:func:`turned`)."""
    X, y = make_circles(1500, noise=0.04, factor=0.5, random_state=seed)
    return turned(X, n_features, noise, seed), y


def test_above_the_embeddings_dimensions_the_start_cuts_the_graph_that_leaks_less():
    """Nested circles in 20 features: under an embedding of pure noise (a
    graph with no groups) the start parts them on the input rows' graph;
    under the circles themselves, padded to 10 dimensions, with noise in
    the input that hides them, it keeps the embedding's graph."""
    X, y = rotated_circles(20, 0.05)
    noise = np.random.default_rng(1).normal(size=(len(X), 10))
    space, labels, leak, count = _init.graph_space(noise, X, 2, 0)
    np.testing.assert_allclose(space, StandardScaler().fit_transform(X))
    assert leak < _init.partition_leak(noise, _init.spectral_labels(noise, 2, 0))
    out = _init.initial_components(
        noise, 2, 0, "spectral_or_gaussian", return_labels=True, inputs=X, return_method=True,
        return_layout=True,
    )
    assert clustering_accuracy(y, out[2]) > 0.99 and out[4] == "spectral"
    # training's neighbour term reads the graph the start cut
    np.testing.assert_array_equal(out[3], space)

    clean, y = make_circles(1500, noise=0.04, factor=0.5, random_state=0)
    embedding = np.c_[clean, np.zeros((len(clean), 8))]
    hidden = rotated_circles(20, 1.0)[0]
    space, labels, _, _ = _init.graph_space(embedding, hidden, 2, 0)
    assert space is embedding and clustering_accuracy(y, labels) > 0.99
    out = _init.initial_components(
        embedding, 2, 0, "spectral_or_gaussian", inputs=hidden, return_layout=True
    )
    assert out[2] is None  # the embedding's own graph


def test_a_fit_whose_start_cut_the_input_rows_graph_trains_on_that_graph():
    """Nested circles in 20 features: the neighbour term's graph is the
    input rows' (nearly all of each row's neighbours), not the embedding's."""
    X, _ = rotated_circles(20, 0.05)
    model = GMVAEClustering(2, pretrain_epochs=20, max_iter=1, random_state=0).fit(X)
    graph = model._train_state.graph
    near = graph.neighbors.numpy()
    inputs, _ = _init.neighbour_shares(StandardScaler().fit_transform(X), near.shape[1])
    embedded, _ = _init.neighbour_shares(model.transform(X).astype(float), near.shape[1])
    def shared(a, b):
        return np.mean([len(set(p) & set(q)) / len(p) for p, q in zip(a, b)])
    assert shared(near, inputs) > 0.95 > shared(near, embedded)


def rotated_spirals(n_features=30, noise=0.05, seed=0):
    """Three spiral arms turned into ``n_features`` dimensions
    (:func:`turned`): in a graph of 15 neighbours the
    arms touch where the noise features bring them close."""
    X, y = make_spiral(2000, n_arms=3, random_state=seed)
    return turned(X, n_features, noise, seed), y


def test_where_the_graph_joins_groups_the_start_cuts_a_sparser_one():
    """Spiral arms in 30 features: the partition of the 15-neighbour graph
    cuts across arms and touches; that of the 7-neighbour graph parts them,
    leaks less on the 15-neighbour graph, and is the start's."""
    X, y = rotated_spirals()
    rows = _init.standardised(X)
    dense = _init.spectral_labels(rows, 3, 0, 15)
    assert clustering_accuracy(y, dense) < 0.98
    assert _init.partition_leak(rows, dense, 15) >= _init.TOUCHING_LEAK
    labels, leak, own, count = _init.sparse_partition(rows, 3, 0, 15)
    assert count == 7 and clustering_accuracy(y, labels) > 0.99
    assert leak == _init.partition_leak(rows, labels, 15) < _init.partition_leak(rows, dense, 15)
    assert own == _init.partition_leak(rows, labels, 7) < _init.TOUCHING_LEAK
    # without the sparser graph's partition: the first one
    kept, *_, first = _init.sparse_partition(rows, 3, 0, 15, sparse=False)
    np.testing.assert_array_equal(kept, dense)
    assert first == 15
    noise = np.random.default_rng(1).normal(size=(len(X), 10))
    part, taken = _init.initial_components(
        noise, 3, 0, "spectral_or_gaussian", 15, return_labels=True, inputs=X,
        return_method=True,
    )[2:]
    assert taken in ("spectral", "refined") and clustering_accuracy(y, part) > 0.99


def test_the_mixture_keeps_small_groups_that_a_sparse_graph_cuts_cleanly():
    """Blobs of 1000, 200 and 50 rows: the 7-neighbour graph's partition
    is clean but splits the large blob; the input mixture parts the blobs,
    leaks no more of the 15-neighbour graph, and is the start's."""
    X, y = make_blobs([1000, 200, 50], centers=[[0, 0], [4, 0], [0, 4]], random_state=0)
    rows = _init.standardised(X)
    labels, _, own, count = _init.sparse_partition(rows, 3, 0, 15)
    assert count == 7 and own < _init.TOUCHING_LEAK
    assert clustering_accuracy(y, labels) < 0.8
    rival = _init.sparse_rival(rows, labels, count, X, 3, 0, 15)
    np.testing.assert_array_equal(rival, _init.input_mixture_labels(X, 3, 0))
    assert clustering_accuracy(y, rival) > 0.9
    assert _init.sparse_rival(rows, labels, 15, X, 3, 0, 15) is None  # not sparser
    assert _init.sparse_rival(rows, labels, count, None, 3, 0, 15) is None
    # blobs of unequal spread: the sparse partition leaks less than the
    # mixture, but not less than half as much, and the mixture is kept
    X, y = make_blobs([1000, 100, 30], centers=[[0, 0], [5, 0], [0, 5]],
                      cluster_std=[1.5, 0.8, 0.5], random_state=0)
    rows = _init.standardised(X)
    labels, leak, _, count = _init.sparse_partition(rows, 3, 0, 15)
    mixture = _init.input_mixture_labels(X, 3, 0)
    assert count == 7 and leak < _init.partition_leak(rows, mixture, 15)
    assert clustering_accuracy(y, labels) < 0.8 < clustering_accuracy(y, mixture)
    np.testing.assert_array_equal(_init.sparse_rival(rows, labels, count, X, 3, 0, 15), mixture)
    *_, taken = _init.initial_components(
        np.random.default_rng(1).normal(size=(len(X), 10)), 3, 0, "spectral_or_gaussian",
        15, inputs=X, return_method=True,
    )
    assert taken == "gaussian"
    spirals, _ = rotated_spirals()
    rows = _init.standardised(spirals)
    labels, _, _, count = _init.sparse_partition(rows, 3, 0, 15)
    assert _init.sparse_rival(rows, labels, count, spirals, 3, 0, 15) is None


def test_an_embedding_partition_that_touches_gives_way_to_the_input_rows():
    """Four groups in 30 binary features under an embedding that clumps
    the rows by one feature: its partition leaks less of its graph than
    the input rows' partition of theirs, but it touches, and the start
    cuts the input rows' graph, which parts the groups."""
    X, y = binary_groups()
    rng = np.random.default_rng(0)
    embedding = np.c_[2 * X[:, 0] + rng.normal(0, 0.9, len(X)), rng.normal(size=len(X))]
    clumps = _init.spectral_labels(embedding, 4, 0, 15)
    clumped = _init.partition_leak(embedding, clumps, 15)
    assert clumped >= _init.TOUCHING_LEAK and clustering_accuracy(y, clumps) < 0.4
    space, labels, leak, _ = _init.graph_space(embedding, X, 4, 0, 15)
    np.testing.assert_allclose(space, StandardScaler().fit_transform(X))
    assert leak > clumped and clustering_accuracy(y, labels) > 0.9
    out = _init.initial_components(
        embedding, 4, 0, "spectral_or_gaussian", 15, return_labels=True, inputs=X,
        return_method=True,
    )
    assert clustering_accuracy(y, out[2]) > 0.9 and out[3] == "spherical"


def test_the_spherical_refinement_keeps_a_partition_with_an_empty_cluster_and_reads_weights():
    X, y = binary_groups()
    empty = np.where(y == 3, 2, y)  # no row in cluster 3
    np.testing.assert_array_equal(_init.spherical_refined(X, empty, 4, 0), empty)
    # rows of no weight neither pull a mean nor count in KMeans: the same
    # partition as without them, for the rows that have weight
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(y))
    start = np.where(rng.uniform(size=len(y)) < 0.1, y[shuffled], y)
    far = np.r_[X, X[:50] + 100.0]
    weights = np.r_[np.ones(len(X)), np.zeros(50)]
    kept = _init.spherical_refined(X, start, 4, 0)
    padded = _init.spherical_refined(far, np.r_[start, y[:50]], 4, 0, weights=weights)
    assert clustering_accuracy(kept, padded[: len(X)]) == 1.0


def one_hot_groups(seed=0):
    """Three groups of 300, 200 and 100 rows in six categorical features of
    four levels each, one-hot: many rows repeat exactly."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), [300, 200, 100])
    columns = []
    for _ in range(6):
        odds = rng.dirichlet(np.full(4, 0.7), size=3)
        levels = np.array([rng.choice(4, p=odds[group]) for group in y])
        columns.append(np.eye(4)[levels])
    return np.hstack(columns), y


def test_a_sparser_graph_that_cuts_off_a_clump_of_repeated_rows_is_not_taken():
    """One-hot rows repeat: the 7-neighbour graph leaves cliques of equal
    rows unjoined, and its clean partition cuts off a few of them; the
    start keeps the partition of the graph asked for."""
    X, y = one_hot_groups()
    scaled = StandardScaler().fit_transform(X)
    cut = _init.spectral_labels(scaled, 3, 0, 7)
    assert _init.partition_leak(scaled, cut, 7) < _init.TOUCHING_LEAK
    assert np.bincount(cut).min() <= 15 and clustering_accuracy(y, cut) < 0.5
    labels, leak, own, count = _init.sparse_partition(scaled, 3, 0, 15)
    assert count == 15 and leak == own >= _init.TOUCHING_LEAK
    np.testing.assert_array_equal(labels, _init.spectral_labels(scaled, 3, 0, 15))
    assert clustering_accuracy(y, labels) > 0.8


def test_no_sparser_graph_where_the_partition_leaves_rows_out(monkeypatch):
    """Above ``SPECTRAL_ROWS`` the partition labels a subset and the start is
    spectral either way: the graph asked for is kept, its rows left out."""
    X, _ = rotated_spirals()
    rows = _init.standardised(X)
    monkeypatch.setattr(_init, "SPECTRAL_ROWS", 600)
    labels, leak, own, count = _init.sparse_partition(rows, 3, 0, 15)
    assert leak >= _init.TOUCHING_LEAK  # touching, yet no sparser graph
    assert count == 15 and leak == own and np.sum(labels < 0) == len(X) - 600
    np.testing.assert_array_equal(labels, _init.spectral_labels(rows, 3, 0, 15))


def test_a_clean_partition_keeps_the_graph_it_was_cut_from():
    X, y = rotated_circles(20, 0.05)
    rows = _init.standardised(X)
    labels, leak, own, count = _init.sparse_partition(rows, 2, 0, 15)
    assert count == 15 and leak == own < _init.TOUCHING_LEAK
    assert clustering_accuracy(y, labels) > 0.99


def test_partition_leak_leaves_unlabelled_rows_out():
    X, y = make_blobs(300, centers=3, random_state=0)
    near, shares = _init.neighbour_shares(X, 15)
    assert _init.partition_leak(X, y, 15) == _init.start_leak(near, shares, y)
    part = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    kept = part >= 0
    near, shares = _init.neighbour_shares(X[kept], 15)
    assert _init.partition_leak(X, part, 15) == _init.start_leak(near, shares, y[kept])


def shared_shape_groups(seed, n_rows=60, n_features=13, spread=0.5):
    """Three groups of ``n_rows`` in ``n_features`` that share one
    correlated covariance (a tied mixture), few rows per feature."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
    y = np.repeat(np.arange(3), n_rows)
    centres = rng.normal(0, spread, (3, n_features))
    return centres[y] + rng.normal(size=(len(y), n_features)) @ axes.T, y


def axis_aligned_groups(seed, n_rows=300, n_features=10):
    """Three groups whose features are independent, each group with its
    own spread per feature (a diagonal mixture)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_rows)
    centres = rng.normal(0, 1.2, (3, n_features))
    spreads = rng.uniform(0.5, 2.0, (3, n_features))
    return centres[y] + rng.normal(size=(len(y), n_features)) * spreads[y], y


def turned_groups(seed, n_rows=300, n_features=4):
    """Three groups, each stretched along its own random directions (a
    full mixture)."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(size=(n_rows, n_features)) @ rng.normal(size=(n_features, n_features))
        + rng.normal(0, 2, n_features)
        for _ in range(3)
    ]
    return np.vstack(parts), np.repeat(np.arange(3), n_rows)


@pytest.mark.parametrize(
    "groups, shape",
    [(shared_shape_groups, "tied"), (axis_aligned_groups, "diag"), (turned_groups, "full")],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_held_out_shape_finds_the_shape_the_groups_were_drawn_with(groups, shape, seed):
    X, _ = groups(seed)
    assert _init.held_out_shape(_init.standardised(X), 3, seed=0) == shape


def test_gaussian_start_parts_groups_of_one_shared_shape_that_full_covariances_miss():
    """Few rows per feature: a full covariance per cluster follows the
    sample's noise and misses the groups on most draws; the tied shape that
    holds out best parts them on every draw."""
    from sklearn.mixture import GaussianMixture

    missed = 0
    for seed in range(4):
        X, y = shared_shape_groups(seed)
        full = GaussianMixture(3, reg_covar=_init.INPUT_MIXTURE_REG, n_init=10, random_state=0)
        missed += clustering_accuracy(y, full.fit_predict(_init.standardised(X))) < 0.9
        assert clustering_accuracy(y, _init.input_mixture(X, 3, seed=0)) > 0.95
    assert missed >= 2


def test_shape_folds_keep_every_copy_of_a_row_in_one_held_out_fold():
    weights = np.random.default_rng(0).integers(1, 6, 200).astype(float)
    drawn = _init.resample_indices(200, weights, seed=0)
    assert len(np.unique(drawn)) < 200  # copies to keep together
    folds = _init.shape_folds(200, 0, groups=drawn)
    assert len(folds) == _init.INPUT_MIXTURE_FOLDS
    held = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(held), np.arange(200))
    for fit, test in folds:
        assert np.array_equal(np.sort(np.concatenate([fit, test])), np.arange(200))
        assert not set(drawn[fit]) & set(drawn[test])


def test_shape_folds_without_groups_are_a_shuffled_kfold():
    from sklearn.model_selection import KFold

    expected = KFold(_init.INPUT_MIXTURE_FOLDS, shuffle=True, random_state=3).split(np.zeros((97, 2)))
    folds = _init.shape_folds(97, 3)
    for (fit, test), (fit_expected, test_expected) in zip(folds, expected, strict=True):
        assert np.array_equal(fit, fit_expected) and np.array_equal(test, test_expected)


@pytest.mark.parametrize("dominant", [1000.0, 200.0])
def test_a_dominant_weight_falls_back_to_row_folds_and_fits(dominant):
    """Few distinct rows in the resample (one row weighted far above the
    rest: 3 distinct rows of 50, or 11): dealt by group, folds would be
    empty or fit fewer groups than clusters, so they are split by row."""
    weights = np.ones(50)
    weights[0] = dominant
    drawn = _init.resample_indices(50, weights, seed=0)
    assert len(np.unique(drawn)) < 12
    folds = _init.shape_folds(50, 0, groups=drawn, n_components=12)
    for (fit, test), (fit_rows, test_rows) in zip(folds, _init.shape_folds(50, 0), strict=True):
        assert np.array_equal(fit, fit_rows) and np.array_equal(test, test_rows)
    X, _ = make_blobs(50, 2, centers=2, random_state=0)
    rows, train, drawn = _init.scaled_inputs(X, 0, weights)
    scores = _init.held_out_scores(train, 2, seed=0, groups=drawn)
    assert np.all(np.isfinite(list(scores.values())))


def test_copies_of_weighted_rows_held_out_together_leave_the_shared_shape_chosen():
    """A weighted resample repeats rows: scored on copies of the rows it
    was fitted on, the full shape's held-out likelihood grows more than
    the tied one's, enough on some draws to choose it; with the copies
    kept in one fold the tied shape the groups were drawn with holds out
    best on every draw."""
    chosen_leaked = []
    for seed in range(6):
        X, _ = shared_shape_groups(seed)
        weights = np.random.default_rng(seed).integers(1, 6, len(X)).astype(float)
        rows, train, drawn = _init.scaled_inputs(X, seed, weights)
        assert np.array_equal(train, rows[drawn])
        assert np.array_equal(train, _init.weighted_resample(rows, weights, seed))
        leaked = _init.held_out_scores(train, 3, seed=0)
        kept = _init.held_out_scores(train, 3, seed=0, groups=drawn)
        assert leaked["full"] - leaked["tied"] > kept["full"] - kept["tied"]
        assert max(kept, key=kept.get) == _init.held_out_shape(train, 3, 0, groups=drawn) == "tied"
        chosen_leaked.append(_init.held_out_shape(train, 3, seed=0))
    assert "full" in chosen_leaked
