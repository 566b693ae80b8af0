"""After a "gaussian" start, the latent axes turn to the clusters' shared
shape, so that the diagonal components carry full-covariance clusters."""

import numpy as np
import torch
from sklearn.datasets import make_classification

from skgmvae import GMVAEClustering, _init, _train
from skgmvae._model import build_net
from skgmvae.metrics import clustering_accuracy

CONFIG = dict(
    n_features=6,
    n_components=3,
    latent_dim=4,
    noise_dim=2,
    hidden_layer_sizes=(16, 16),
    prior_hidden=8,
    likelihood="gaussian",
)


def tilted_pair(n=400, angle=np.pi / 6, seed=0):
    """Two 2-d clusters with one covariance, long along ``angle``."""
    rng = np.random.default_rng(seed)
    direction = np.array([np.cos(angle), np.sin(angle)])
    across = np.array([-direction[1], direction[0]])
    labels = np.repeat([0, 1], n // 2)
    rows = (
        rng.normal(0, 3.0, (n, 1)) * direction
        + rng.normal(0, 0.5, (n, 1)) * across
        + 4.0 * labels[:, None] * across
    )
    return rows, labels, direction


def pooled_covariance(rows, labels):
    centred = [rows[labels == k] - rows[labels == k].mean(0) for k in np.unique(labels)]
    centred = np.vstack(centred)
    return centred.T @ centred / len(centred)


def off_diagonal_share(cov):
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    return np.abs(cov / scale - np.eye(len(cov))).max()


def test_the_axes_make_the_shared_covariance_diagonal():
    rows, labels, direction = tilted_pair()
    assert off_diagonal_share(pooled_covariance(rows, labels)) > 0.5
    axes = _init.within_cluster_axes(rows, labels)
    np.testing.assert_allclose(axes.T @ axes, np.eye(2), atol=1e-12)
    assert off_diagonal_share(pooled_covariance(rows @ axes, labels)) < 1e-8
    # the last axis (largest variance) runs along the clusters' long side
    assert abs(axes[:, -1] @ direction) > 0.99


def test_rows_left_out_do_not_count_and_weights_count_as_repeats():
    rows, labels, _ = tilted_pair(seed=1)
    axes = _init.within_cluster_axes(rows, labels)
    outliers = np.random.default_rng(2).normal(0, 50.0, (40, 2))
    with_outliers = _init.within_cluster_axes(
        np.vstack([rows, outliers]), np.r_[labels, np.full(40, -1)]
    )
    np.testing.assert_allclose(np.abs(with_outliers), np.abs(axes), atol=1e-10)
    weights = np.r_[np.full(200, 2.0), np.ones(200)]
    repeated = _init.within_cluster_axes(
        np.vstack([rows, rows[:200]]), np.r_[labels, labels[:200]]
    )
    weighted = _init.within_cluster_axes(rows, labels, weights)
    np.testing.assert_allclose(np.abs(weighted), np.abs(repeated), atol=1e-10)
    assert np.abs(np.abs(weighted) - np.abs(axes)).max() > 1e-6  # weights matter


def test_too_few_labelled_rows_give_the_identity():
    rows = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(
        _init.within_cluster_axes(rows, np.array([0, -1, -1, -1, -1])), np.eye(3)
    )


def test_turning_the_latent_keeps_the_autoencoder_and_the_distances():
    net = build_net(CONFIG, 0)
    y = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    axes = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(1)))[0]
    with torch.no_grad():
        means = net.encode(y)[0]
        decoded = net.decode(means)[0]
        net.rotate_latent(axes)
        turned = net.encode(y)[0]
        torch.testing.assert_close(turned, means @ axes, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(net.decode(turned)[0], decoded, atol=1e-5, rtol=1e-5)
        assert (turned - means).abs().max() > 0.01  # the coordinates did change


def test_without_hidden_layers_the_decoder_head_reads_the_turned_latent():
    net = build_net({**CONFIG, "hidden_layer_sizes": ()}, 0)
    y = torch.randn(20, 6, generator=torch.Generator().manual_seed(0))
    axes = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(2)))[0]
    with torch.no_grad():
        decoded = net.decode(net.encode(y)[0])[0]
        net.rotate_latent(axes)
        torch.testing.assert_close(net.decode(net.encode(y)[0])[0], decoded, atol=1e-5, rtol=1e-5)


def correlated_classes():
    """Four Gaussian classes in 10 features, of which 6 mix the informative
    ones: touching classes that a full covariance per class parts."""
    return make_classification(
        1500, n_features=10, n_informative=4, n_redundant=2, n_classes=4,
        n_clusters_per_class=1, class_sep=1.5, random_state=5,
    )


def test_a_gaussian_start_leaves_its_clusters_shared_covariance_diagonal():
    X, _ = correlated_classes()
    X = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    for init, diagonal in [("gaussian", True), ("spectral", False)]:
        net = build_net({**CONFIG, "n_features": 10, "n_components": 4}, 0)
        before = _train.encode_means(net, X, 256).double().numpy()
        space, labels, _, taken = _train.init_from_autoencoder(net, X, 256, 0, init, 25)
        assert taken == init
        after = _train.encode_means(net, X, 256).double().numpy()
        np.testing.assert_allclose(space.double().numpy(), after, atol=1e-5)
        share = off_diagonal_share(pooled_covariance(after, labels))
        if diagonal:
            assert share < 1e-4
            # a rotation: every distance between rows stays as it was
            np.testing.assert_allclose(
                np.linalg.norm(after[:100, None] - after[None, :100], axis=-1),
                np.linalg.norm(before[:100, None] - before[None, :100], axis=-1),
                atol=1e-4,
            )
        else:
            np.testing.assert_array_equal(after, before)
            assert share > 0.01


def test_the_default_fit_keeps_correlated_gaussian_classes_apart():
    # diagonal components on the unturned axes ended this seed at 0.812
    X, y = correlated_classes()
    est = GMVAEClustering(n_components=4, random_state=2).fit(X)
    assert clustering_accuracy(y, est.labels_) > 0.85
