"""sample_weight: rows of weight 0 are absent rows, integer weights are
repeated rows in expectation, and bad weights are refused clearly."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from skgmvae import GMVAEClustering
from skgmvae._data import Scaling
from skgmvae._elbo import neighbour_loss, training_loss
from skgmvae._init import gmm_components, partition_moments

FAST = dict(
    n_components=3,
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(32,),
    prior_hidden=16,
    max_iter=8,
    pretrain_epochs=8,
    kl_warmup=2,
    batch_size=32,
    n_score_samples=4,
    random_state=0,
)


def _blobs(n=120, seed=0):
    X, y = make_blobs(
        n_samples=n, centers=3, n_features=4, cluster_std=0.6, random_state=seed
    )
    return X, y


def _outputs(model, X):
    return model.labels_, model.predict_proba(X), model.score_samples(X)


def test_equal_weights_train_exactly_as_no_weights():
    X, _ = _blobs()
    plain = GMVAEClustering(**FAST).fit(X)
    weighted = GMVAEClustering(**FAST).fit(X, sample_weight=np.full(len(X), 3.5))
    for a, b in zip(_outputs(plain, X), _outputs(weighted, X)):
        np.testing.assert_array_equal(a, b)
    assert weighted.lower_bound_ == plain.lower_bound_


def test_rows_of_weight_zero_are_absent_rows():
    X, _ = _blobs()
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 4, size=len(X)).astype(float)
    weights[rng.choice(len(X), 30, replace=False)] = 0
    kept = weights > 0
    full = GMVAEClustering(**FAST).fit(X, sample_weight=weights)
    subset = GMVAEClustering(**FAST).fit(X[kept], sample_weight=weights[kept])
    np.testing.assert_array_equal(full.predict_proba(X), subset.predict_proba(X))
    np.testing.assert_array_equal(full.transform(X), subset.transform(X))
    assert full.lower_bound_ == subset.lower_bound_
    # every row, the left-out ones too, gets a label
    assert full.labels_.shape == (len(X),)
    np.testing.assert_array_equal(full.labels_[kept], subset.labels_)
    np.testing.assert_array_equal(full.labels_, full.predict(X))


def test_partial_fit_leaves_out_rows_of_weight_zero():
    X, _ = _blobs()
    weights = np.ones(len(X))
    weights[::4] = 0
    kept = weights > 0
    a, b = GMVAEClustering(**FAST), GMVAEClustering(**FAST)
    for _ in range(2):
        a.partial_fit(X, sample_weight=weights)
        b.partial_fit(X[kept])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_weights_change_the_fit():
    X, _ = _blobs()
    weights = np.where(np.arange(len(X)) % 2 == 0, 5.0, 1.0)
    plain = GMVAEClustering(**FAST).fit(X)
    weighted = GMVAEClustering(**FAST).fit(X, sample_weight=weights)
    assert not np.array_equal(plain.predict_proba(X), weighted.predict_proba(X))


def test_standardisation_counts_integer_weights_as_repeats():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 6)) * rng.uniform(0.5, 5, size=6) + rng.normal(size=6)
    counts = rng.integers(1, 5, size=50)
    weighted = Scaling.fit(X, "gaussian", counts / counts.mean())
    repeated = Scaling.fit(np.repeat(X, counts, axis=0), "gaussian")
    np.testing.assert_allclose(weighted.shift, repeated.shift, rtol=1e-12)
    np.testing.assert_allclose(weighted.scale, repeated.scale, rtol=1e-12)


def _random_terms(n, n_draws=2, k=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    terms = {
        key: torch.randn(n, generator=gen, dtype=torch.float64)
        for key in ("reconstruction", "conditional_prior", "w_prior")
    }
    terms["z_prior"] = torch.rand(n, generator=gen, dtype=torch.float64)
    terms["log_pz"] = torch.log_softmax(
        torch.randn(n_draws, n, k, generator=gen, dtype=torch.float64), -1
    )
    return terms


def _repeat(terms, counts):
    index = torch.as_tensor(np.repeat(np.arange(len(counts)), counts))
    return {
        key: value[..., index] if value.dim() == 1 else value[:, index]
        for key, value in terms.items()
    }


@pytest.mark.parametrize("min_information", [0.0, 0.4, 5.0])
def test_weighted_loss_of_all_rows_is_the_loss_of_the_repeated_rows(min_information):
    counts = np.array([1, 3, 2, 1, 4, 2, 1, 2])
    terms = _random_terms(len(counts))
    weights = torch.as_tensor(counts / counts.mean())
    weighted = training_loss(terms, 0.7, min_information, weights)
    repeated = training_loss(_repeat(terms, counts), 0.7, min_information)
    assert float(weighted) == pytest.approx(float(repeated), rel=1e-12)

    targets = torch.softmax(torch.randn(len(counts), 3, dtype=torch.float64), -1)
    index = torch.as_tensor(np.repeat(np.arange(len(counts)), counts))
    assert float(neighbour_loss(terms, targets, weights)) == pytest.approx(
        float(neighbour_loss(_repeat(terms, counts), targets[index])), rel=1e-12
    )


def test_start_moments_count_integer_weights_as_repeats():
    rng = np.random.default_rng(2)
    embedding = rng.normal(size=(40, 3))
    labels = rng.integers(-1, 3, size=40)
    counts = rng.integers(1, 4, size=40)
    means, variances = partition_moments(embedding, labels, 3, counts.astype(float))
    rep_means, rep_vars = partition_moments(
        np.repeat(embedding, counts, axis=0), np.repeat(labels, counts), 3
    )
    np.testing.assert_allclose(means, rep_means, rtol=1e-10)
    np.testing.assert_allclose(variances, rep_vars, rtol=1e-10)


def test_gmm_start_draws_rows_by_weight():
    # all the weight on the first blob: the components all sit in it
    X, y = _blobs(n=150)
    weights = (y == 0).astype(float) + 1e-9
    means, _ = gmm_components(X, 3, seed=0, weights=weights)
    centre = X[y == 0].mean(0)
    others = [X[y == k].mean(0) for k in (1, 2)]
    for mean in means:
        assert np.linalg.norm(mean - centre) < min(np.linalg.norm(mean - o) for o in others)


def test_integer_weights_fit_like_repeated_rows():
    X, y = _blobs(n=90, seed=3)
    counts = np.random.default_rng(3).integers(1, 4, size=len(X))
    repeats = np.repeat(X, counts, axis=0)
    params = {**FAST, "n_iter_no_change": None}
    params.pop("max_iter"), params.pop("pretrain_epochs")
    repeated = GMVAEClustering(**params, max_iter=20, pretrain_epochs=20).fit(repeats)
    # as many minibatch steps as the repeated rows make (an epoch of the
    # weighted fit is one pass over the distinct rows)
    epochs = round(20 * counts.mean())
    weighted = GMVAEClustering(**params, max_iter=epochs, pretrain_epochs=epochs)
    weighted.fit(X, sample_weight=counts)
    np.testing.assert_allclose(weighted._scaling.shift, repeated._scaling.shift)
    assert adjusted_rand_score(weighted.predict(X), repeated.predict(X)) > 0.95
    assert adjusted_rand_score(weighted.labels_, y) > 0.95
    # the bound per row (weighted) is about that of the repeated rows
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=0.15)


def test_fit_predict_and_pipeline_pass_weights():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, _ = _blobs()
    weights = np.where(np.arange(len(X)) < 60, 2.0, 1.0)
    direct = GMVAEClustering(**FAST).fit(X, sample_weight=weights)
    labels = GMVAEClustering(**FAST).fit_predict(X, sample_weight=weights)
    np.testing.assert_array_equal(labels, direct.labels_)
    pipe = make_pipeline(FunctionTransformer(), GMVAEClustering(**FAST))
    pipe.fit(X, gmvaeclustering__sample_weight=weights)
    np.testing.assert_array_equal(pipe.predict(X), direct.predict(X))


@pytest.mark.parametrize(
    "weights, match",
    [
        (-np.ones(120), "non-negative"),
        (np.r_[np.nan, np.ones(119)], "NaN"),
        (np.r_[np.inf, np.ones(119)], "infinity"),
        (np.ones(119), r"one finite, non-negative weight per row of X \(120 rows\)"),
        (np.ones((120, 2)), "1D array"),
        (np.r_[1.0, np.zeros(119)], "zero on all but 1 rows"),
    ],
)
def test_bad_weights_are_clear_errors(weights, match):
    X, _ = _blobs()
    with pytest.raises(ValueError, match=match):
        GMVAEClustering(**FAST).fit(X, sample_weight=weights)


def test_fewer_weighted_rows_than_clusters_is_a_clear_error():
    X, _ = _blobs()
    weights = np.zeros(len(X))
    weights[:2] = 1
    with pytest.raises(ValueError, match="n_components=3 must be <= n_samples=2"):
        GMVAEClustering(**FAST).fit(X, sample_weight=weights)


def test_sparse_rows_take_weights_as_dense_rows_do():
    from scipy import sparse

    X, _ = _blobs()
    X = np.abs(X) * (np.random.default_rng(0).random(X.shape) < 0.5)
    weights = np.random.default_rng(1).integers(0, 4, size=len(X)).astype(float)
    dense = GMVAEClustering(**FAST).fit(X, sample_weight=weights)
    csr = GMVAEClustering(**FAST).fit(sparse.csr_matrix(X), sample_weight=weights)
    np.testing.assert_allclose(csr._scaling.shift, dense._scaling.shift, rtol=1e-10)
    np.testing.assert_allclose(csr._scaling.scale, dense._scaling.scale, rtol=1e-8)
    np.testing.assert_array_equal(csr.labels_, dense.labels_)
