"""After a "spectral" start the prior's components start as factor
analysers of its clusters, and q(w|y) at each row's factors."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_moons
from sklearn.preprocessing import StandardScaler

from skgmvae import _init, _train
from skgmvae._model import build_net

CONFIG = dict(
    n_features=2,
    n_components=2,
    latent_dim=4,
    noise_dim=2,
    hidden_layer_sizes=(32, 32),
    prior_hidden=8,
    likelihood="gaussian",
)


def long_cluster(n=3000, seed=0):
    """3-d rows along one slanted direction ``u`` (spread 3) with isotropic
    noise (0.3), and the position ``t`` of each row along it."""
    rng = np.random.default_rng(seed)
    u = np.array([1.0, 2.0, -2.0]) / 3.0
    t = rng.normal(size=n)
    rows = np.array([5.0, -1.0, 2.0]) + 3.0 * t[:, None] * u + rng.normal(0, 0.3, (n, 3))
    return rows, t, u


def test_one_factor_carries_a_long_cluster():
    rows, t, u = long_cluster()
    labels = np.zeros(len(rows), dtype=np.intp)
    means, variances, loadings, factors, factor_variance = _init.factor_components(
        rows, labels, 1, 1
    )
    np.testing.assert_allclose(means[0], rows.mean(0), atol=1e-12)
    # the loading runs along u with the spread beyond the noise
    assert abs(loadings[0, :, 0] @ u) == pytest.approx(3.0, rel=0.05)
    np.testing.assert_allclose(variances[0], 0.09, rtol=0.2)
    # loadings and noise give back the cluster's covariance
    model = loadings[0] @ loadings[0].T + np.diag(variances[0])
    np.testing.assert_allclose(model, np.cov(rows.T, bias=True), atol=0.03)
    # each row's factor is its position along the cluster
    assert abs(np.corrcoef(factors[:, 0], t)[0, 1]) > 0.99
    assert 0 < factor_variance[0] < 0.02
    # the diagonal moments spread the same cluster over every axis
    diagonal = _init.partition_moments(rows, labels, 1)[1][0]
    assert diagonal.min() > 10 * variances[0].max()


def test_rows_left_out_small_clusters_and_weights():
    rows, _, _ = long_cluster(seed=1)
    labels = np.r_[np.zeros(2990, dtype=np.intp), np.ones(3, dtype=np.intp), np.full(7, -1)]
    means, variances, loadings, factors, _ = _init.factor_components(rows, labels, 2, 2)
    # too few rows for two factors: no loading, the cluster's own moments
    np.testing.assert_array_equal(loadings[1], 0.0)
    np.testing.assert_allclose(variances[1], np.maximum(rows[2990:2993].var(0), 1e-4))
    np.testing.assert_array_equal(factors[labels != 0], 0.0)
    # weights count as repeated rows
    weights = np.r_[np.full(1000, 2.0), np.ones(2000)]
    labels = np.zeros(3000, dtype=np.intp)
    weighted = _init.factor_components(rows, labels, 1, 1, weights)
    repeated = _init.factor_components(
        np.vstack([rows, rows[:1000]]), np.zeros(4000, dtype=np.intp), 1, 1
    )
    for a, b in zip(weighted[:2], repeated[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.abs(weighted[2]), np.abs(repeated[2]), rtol=1e-9)
    unweighted = _init.factor_components(rows, labels, 1, 1)
    assert np.abs(weighted[0] - unweighted[0]).max() > 1e-4  # weights matter


def test_a_cluster_has_as_many_factors_as_its_rows_support():
    rows, _, _ = long_cluster(n=3000, seed=2)  # 3-d: r factors need 15 (r + 1) rows
    per_row = _init.FACTOR_ROWS_PER_ENTRY * 3
    for n_rows, expected in [(int(per_row) - 1, 0), (int(2 * per_row), 1), (3000, 2)]:
        labels = np.r_[np.zeros(n_rows, dtype=np.intp), np.full(3000 - n_rows, -1)]
        loadings = _init.factor_components(rows, labels, 1, 2)[2][0]
        assert np.count_nonzero(np.abs(loadings).sum(0) > 1e-9) == expected
    # fewer rows than one factor needs: the diagonal moments, as without factors
    labels = np.r_[np.zeros(10, dtype=np.intp), np.full(2990, -1)]
    np.testing.assert_allclose(
        _init.factor_components(rows, labels, 1, 2)[1],
        _init.partition_moments(rows, labels, 1)[1],
    )


def test_the_noise_keeps_a_floor_per_axis():
    rows, _, _ = long_cluster(seed=4)
    labels = np.zeros(len(rows), dtype=np.intp)
    floor = np.array([0.5, 0.01, 0.2])
    variances = _init.factor_components(rows, labels, 1, 2, min_noise=floor)[1][0]
    free = _init.factor_components(rows, labels, 1, 2)[1][0]
    np.testing.assert_allclose(variances, np.maximum(free, floor))
    assert (free < floor).any()  # the floor did bind


def test_linear_map_fits_a_linear_target_whatever_the_features_scale():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 6))
    coef = rng.normal(size=(6, 2))
    targets = features @ coef + np.array([1.0, -2.0])
    found, intercept = _init.linear_map(features, targets, ridge=1e-8)
    np.testing.assert_allclose(found, coef, atol=1e-6)
    np.testing.assert_allclose(intercept, [1.0, -2.0], atol=1e-6)
    # a heavy penalty shrinks, by the same share at any scale of the features
    shrunk = _init.linear_map(features, targets, ridge=1.0)[0]
    assert np.abs(shrunk).sum() < 0.9 * np.abs(coef).sum()
    scaled = _init.linear_map(100.0 * features, targets, ridge=1.0)[0]
    np.testing.assert_allclose(100.0 * scaled, shrunk, rtol=1e-8)


def test_the_prior_starts_with_means_linear_in_w_and_fixed_variances():
    net = build_net(CONFIG, 0)
    gen = torch.Generator().manual_seed(0)
    means = torch.randn(2, 4, generator=gen)
    variances = torch.rand(2, 4, generator=gen) + 0.1
    loadings = torch.randn(2, 4, 2, generator=gen)
    net.set_prior_factors(means, variances, loadings)
    w = torch.randn(200, 2, generator=gen)
    with torch.no_grad():
        mean, logvar = net.prior(w)
    expected = means + torch.einsum("kdr,br->bkd", loadings, w)
    # the tanh at 0.1 w bends the line by under 2% for |w| < 3
    np.testing.assert_allclose(mean.numpy(), expected.numpy(), atol=0.03 * 3 * 3)
    linear_part = (mean - means).norm(dim=-1)
    assert ((expected - means).norm(dim=-1) - linear_part).abs().max() < 0.05 * linear_part.max()
    np.testing.assert_allclose(
        logvar.exp().numpy(), variances.expand(200, 2, 4).numpy(), rtol=1e-4
    )


def test_q_w_starts_as_a_map_of_the_last_hidden_layer():
    net = build_net(CONFIG, 0)
    y = torch.randn(50, 2, generator=torch.Generator().manual_seed(3))
    coef = torch.randn(32, 1, generator=torch.Generator().manual_seed(4))
    net.set_noise_posterior(coef, torch.tensor([0.5]), torch.tensor([0.2, 1.0]))
    with torch.no_grad():
        _, _, mean_w, logvar_w = net.encode(y)
        hidden = net.encoder(y)
    np.testing.assert_allclose(mean_w[:, 0].numpy(), (hidden @ coef)[:, 0] + 0.5, atol=1e-5)
    np.testing.assert_array_equal(mean_w[:, 1].numpy(), 0.0)
    np.testing.assert_allclose(logvar_w.exp().numpy(), [[0.2, 1.0]] * 50, rtol=1e-4)


def agreement_after_the_start(factored, monkeypatch):
    X, _ = make_moons(600, noise=0.05, random_state=0)
    X = torch.as_tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    net = build_net(CONFIG, 0)
    optimizer = _train.make_optimizer(net, 3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        _train.pretrain_epoch(net, optimizer, X, 64, gen)
    monkeypatch.setattr(_train, "FACTOR_STARTS", ("spectral",) if factored else ())
    _, labels, _, taken = _train.init_from_autoencoder(net, X, 64, 0, "spectral", 15)
    assert taken == "spectral"
    assigned = _train.posterior_components(net, X, 64)[1].numpy()
    return max(np.mean(assigned == labels), np.mean(assigned != labels))


def test_the_model_starts_where_the_spectral_start_is(monkeypatch):
    # the two moons, bent in the embedding: diagonal moments put the tips
    # of each moon in the other's component, factor analysers do not
    factored = agreement_after_the_start(True, monkeypatch)
    diagonal = agreement_after_the_start(False, monkeypatch)
    assert factored > 0.97
    assert factored > diagonal + 0.02


def test_after_a_gaussian_start_the_factors_sit_in_the_turned_axes():
    # three Gaussian clusters, each with its own slanted covariance: the
    # "gaussian" start turns the latent axes, and the factor analysers'
    # means are the clusters' means in the turned embedding
    X = torch.as_tensor(
        StandardScaler().fit_transform(
            make_classification(
                900, n_features=4, n_informative=3, n_redundant=1, n_classes=3,
                n_clusters_per_class=1, random_state=0,
            )[0]
        ),
        dtype=torch.float32,
    )
    net = build_net({**CONFIG, "n_features": 4, "n_components": 3}, 0)
    optimizer = _train.make_optimizer(net, 3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        _train.pretrain_epoch(net, optimizer, X, 64, gen)
    before = _train.encode_means(net, X, 64)
    _, labels, _, taken = _train.init_from_autoencoder(net, X, 64, 0, "gaussian", 15)
    assert taken == "gaussian"
    embedding = _train.encode_means(net, X, 64).numpy()
    assert not np.allclose(embedding, before.numpy(), atol=1e-3)  # the axes turned
    with torch.no_grad():
        at_zero = net.prior(torch.zeros(1, CONFIG["noise_dim"]))[0][0].numpy()
        moved = net.prior(torch.ones(1, CONFIG["noise_dim"]))[0][0].numpy()
    for k in range(3):
        np.testing.assert_allclose(at_zero[k], embedding[labels == k].mean(0), atol=1e-4)
    assert np.abs(moved - at_zero).max() > 0.05  # the components have factors


def test_without_rows_for_a_factor_the_start_is_the_diagonal_one(monkeypatch):
    # 30 rows a moon in a 4-d latent: one factor would need 40
    X, _ = make_moons(60, noise=0.05, random_state=0)
    X = torch.as_tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    states = []
    for factored in (True, False):
        net = build_net(CONFIG, 0)
        monkeypatch.setattr(_train, "FACTOR_STARTS", ("spectral",) if factored else ())
        assert _train.init_from_autoencoder(net, X, 64, 0, "spectral", 10)[-1] == "spectral"
        states.append(net.state_dict())
    for key, value in states[0].items():
        torch.testing.assert_close(value, states[1][key], rtol=0, atol=0)
    # factor_start itself declines for 30 rows a cluster and starts for 60
    rng = np.random.default_rng(0)
    for per_cluster, started in [(30, False), (60, True)]:
        rows = torch.as_tensor(rng.normal(size=(2 * per_cluster, 2)), dtype=torch.float32)
        embedding = rng.normal(size=(2 * per_cluster, 4))
        labels = np.repeat([0, 1], per_cluster)
        net = build_net(CONFIG, 0)
        assert _train.factor_start(net, rows, embedding, labels, None, 64, 0) is started
