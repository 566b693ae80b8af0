"""The bound that ranks the n_init fits (lower_bound_): each row's own
fixed draws, as many as the number of rows calls for."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from skgmvae import GMVAEClustering, _data, _inference


@pytest.fixture(scope="module")
def fitted():
    X, _ = make_blobs(600, n_features=6, centers=3, random_state=0)
    model = GMVAEClustering(
        3, max_iter=2, pretrain_epochs=2, n_iter_no_change=None, random_state=0
    ).fit(X)
    net = model._net.double()  # float64: the block sizes cannot round differently
    return model, net, X


def _rows(model, X):
    # float64 rows, as the float64 networks take them
    return model._scaling.tensor(X, "cpu", torch.float64)


@pytest.mark.parametrize(
    "n_rows, n_score_samples, expected",
    [(10, 16, 16), (4096, 16, 16), (4097, 16, 16), (8192, 16, 8), (70_000, 16, 1),
     (10, 3, 3), (10**7, 16, 1)],
)
def test_the_draws_a_row_fall_as_the_rows_grow(n_rows, n_score_samples, expected):
    # ceil(65536 / n_rows), at most n_score_samples, at least one
    assert _inference.bound_draws(n_rows, n_score_samples) == expected


def test_each_row_has_draws_of_its_own_fixed_by_the_seed(fitted):
    model, net, X = fitted
    twice = np.vstack([X[:1], X[:1]])
    Xt = _rows(model, twice)
    once = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed, 16)
    again = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed, 16)
    np.testing.assert_array_equal(once, again)
    # one row twice: other draws, another estimate
    assert once[0] != once[1]
    other = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed + 1, 16)
    assert not np.array_equal(once, other)


@pytest.mark.parametrize("n_draws", [1, 3, 16])
def test_a_rows_draws_do_not_depend_on_the_blocks(fitted, monkeypatch, n_draws):
    model, net, X = fitted
    Xt = _rows(model, X)
    whole = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed, n_draws)
    monkeypatch.setattr(_data, "INFERENCE_BATCH", n_draws * 7)  # blocks of 7 rows
    cut = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed, n_draws)
    np.testing.assert_allclose(cut, whole, rtol=1e-12)
    # the first rows keep their draws when fewer rows follow (49 and 1 rows:
    # draw counts that are no multiple of a generator's block); a stream of
    # 200 rows gives the rows after it other draws
    for n_head in (49, 1):
        head = _inference.elbo_rows(
            net, Xt[:n_head], model._scaling, model._eval_seed, n_draws
        )
        np.testing.assert_allclose(head, whole[:n_head], rtol=1e-12)
    monkeypatch.setattr(_inference, "BOUND_NOISE_ROWS", 200)
    streams = _inference.elbo_rows(net, Xt, model._scaling, model._eval_seed, n_draws)
    np.testing.assert_allclose(streams[:200], whole[:200], rtol=1e-12)
    assert not np.allclose(streams[200:], whole[200:], rtol=1e-6)


def test_sparse_rows_made_dense_in_small_blocks_get_the_same_bound(monkeypatch):
    import scipy.sparse as sp

    from skgmvae import _train

    X, _ = make_blobs(300, n_features=6, centers=3, random_state=2)
    X = np.abs(X) * (np.abs(X) > 3)  # mostly zeros
    model = GMVAEClustering(
        3, max_iter=2, pretrain_epochs=2, n_iter_no_change=None, random_state=0
    ).fit(X)
    dense = model._scaling.training_rows(X, "cpu")
    monkeypatch.setattr(_train, "SPARSE_BLOCK_VALUES", 6 * 7)
    sparse = model._scaling.training_rows(sp.csr_matrix(X), "cpu")
    assert sparse.block_rows == 7  # made dense seven rows at a time
    scaling, seed = model._scaling, model._eval_seed
    np.testing.assert_allclose(
        _inference.elbo_rows(model._net, sparse, scaling, seed, 16),
        _inference.elbo_rows(model._net, dense, scaling, seed, 16),
        rtol=1e-5,
    )


def test_own_draws_make_the_mean_precise_with_one_draw_a_row(fitted, monkeypatch):
    # the mean over 600 rows of one own draw each lands closer to the mean
    # of many draws than one draw shared by every row does
    model, net, X = fitted
    Xt = _rows(model, X)
    scaling, seed = model._scaling, model._eval_seed
    reference = _inference.elbo_rows(net, Xt, scaling, seed, 64).mean()
    own = [_inference.elbo_rows(net, Xt, scaling, s, 1).mean() for s in range(8)]
    shared = []
    for s in range(8):
        noise = _inference.fixed_noise(s, 1, net, torch.zeros(1, dtype=torch.float64))
        y = Xt[torch.arange(len(X))]
        elbo = net.elbo_terms(y, noise)["elbo"].detach().numpy()
        shared.append((elbo - scaling.log_det).mean())
    own_error = np.abs(np.array(own) - reference).mean()
    shared_error = np.abs(np.array(shared) - reference).mean()
    assert own_error < shared_error


def test_lower_bound_is_the_mean_of_the_rows_bound():
    X, _ = make_blobs(300, n_features=5, centers=3, random_state=1)
    model = GMVAEClustering(
        3, max_iter=2, pretrain_epochs=2, n_iter_no_change=None, random_state=0
    ).fit(X)
    Xt = model._scaling.training_rows(X, "cpu")
    rows = _inference.elbo_rows(model._net, Xt, model._scaling, model._eval_seed, 16)
    assert model.lower_bound_ == pytest.approx(rows.mean(), rel=1e-6)
