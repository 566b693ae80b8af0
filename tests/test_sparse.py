"""Sparse input: the same model as for the dense rows, every scipy.sparse
format, clear errors, and memory bounded by blocks of rows."""

import time
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skgmvae import Callback, GMVAEClustering
from skgmvae import _data, _train

SMALL = dict(
    n_components=3,
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(16,),
    prior_hidden=8,
    batch_size=32,
    max_iter=4,
    pretrain_epochs=3,
    kl_warmup=2,
    n_score_samples=2,
    random_state=0,
)


def _counts(n, d, seed=0, density=0.2):
    """Non-negative rows in three groups, mostly zeros, like word counts:
    ``(X, labels)``, X dense float64."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    rates = rng.gamma(0.3, 1.0, size=(3, d))
    X = rng.poisson(rates[labels] * 3 * density).astype(np.float64)
    return X, labels


@pytest.fixture(scope="module")
def dense_and_csr():
    X, _ = _counts(240, 30)
    assert 0.05 < np.mean(X != 0) < 0.6
    return X, sp.csr_matrix(X)


@pytest.fixture(scope="module")
def fitted_pair(dense_and_csr):
    X, S = dense_and_csr
    dense = GMVAEClustering(**SMALL).fit(X)
    sparse = GMVAEClustering(**SMALL).fit(S)
    return dense, sparse


def test_csr_fit_gives_the_fit_of_the_dense_rows(dense_and_csr, fitted_pair):
    X, S = dense_and_csr
    dense, sparse = fitted_pair
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    np.testing.assert_allclose(sparse.lower_bound_, dense.lower_bound_, rtol=1e-6)
    np.testing.assert_allclose(
        sparse.predict_proba(S), dense.predict_proba(X), rtol=1e-7, atol=1e-10
    )
    np.testing.assert_allclose(sparse.transform(S), dense.transform(X), atol=1e-7)
    np.testing.assert_allclose(
        sparse.score_samples(S), dense.score_samples(X), rtol=1e-7
    )
    np.testing.assert_array_equal(sparse.predict(S), dense.predict(X))
    # a model fitted on dense rows takes their sparse version, and back
    np.testing.assert_allclose(dense.predict_proba(S), dense.predict_proba(X))
    np.testing.assert_allclose(sparse.predict_proba(X), sparse.predict_proba(S))


def test_bernoulli_csr_fit_gives_the_fit_of_the_dense_rows(dense_and_csr):
    X, _ = dense_and_csr
    X = X / X.max()
    params = dict(SMALL, likelihood="bernoulli", random_state=3)
    dense = GMVAEClustering(**params).fit(X)
    sparse = GMVAEClustering(**params).fit(sp.csc_matrix(X))
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-10
    )


def test_fit_predict_and_partial_fit_on_csr_chunks_match_dense(dense_and_csr):
    X, S = dense_and_csr
    np.testing.assert_array_equal(
        GMVAEClustering(**SMALL).fit_predict(S),
        GMVAEClustering(**SMALL).fit_predict(X),
    )
    dense, sparse = GMVAEClustering(**SMALL), GMVAEClustering(**SMALL)
    for start in (0, 160, 200):
        dense.partial_fit(X[start : start + 160])
        sparse.partial_fit(S[start : start + 160])
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    np.testing.assert_allclose(sparse.predict_proba(S), dense.predict_proba(X))


def _formats(X):
    """``name -> X`` in every scipy.sparse format, matrices and arrays, and
    CSR/CSC/COO with 64-bit indices."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)  # DIA
        for fmt in ("csr", "csc", "coo", "bsr", "lil", "dok", "dia"):
            out[f"{fmt}_matrix"] = getattr(sp, f"{fmt}_matrix")(X)
            out[f"{fmt}_array"] = getattr(sp, f"{fmt}_array")(X)
    for fmt in ("csr", "csc"):
        wide = getattr(sp, f"{fmt}_matrix")(X)
        wide.indices = wide.indices.astype(np.int64)
        wide.indptr = wide.indptr.astype(np.int64)
        out[f"{fmt}_64"] = wide
    coo = sp.coo_matrix(X)
    coo.row, coo.col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    out["coo_64"] = coo
    return out


def test_every_sparse_format_predicts_as_the_dense_rows(dense_and_csr, fitted_pair):
    X, _ = dense_and_csr
    dense, _ = fitted_pair
    expected = dense.predict_proba(X)
    for name, Xs in _formats(X).items():
        np.testing.assert_allclose(
            dense.predict_proba(Xs), expected, atol=1e-12, err_msg=name
        )
        assert dense.transform(Xs).shape == (X.shape[0], SMALL["latent_dim"]), name


@pytest.mark.parametrize("name", ["csc_matrix", "coo_array", "dok_matrix", "csr_64"])
def test_fit_on_other_formats_gives_the_csr_fit(dense_and_csr, fitted_pair, name):
    X, _ = dense_and_csr
    _, sparse = fitted_pair
    model = GMVAEClustering(**SMALL).fit(_formats(X)[name])
    np.testing.assert_array_equal(model.labels_, sparse.labels_)


def test_float32_csr_keeps_its_dtype_in_transform(dense_and_csr, fitted_pair):
    X, S = dense_and_csr
    _, sparse = fitted_pair
    out = sparse.transform(S.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, sparse.transform(X), atol=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_stored_values_are_refused_with_advice(
    dense_and_csr, fitted_pair, bad
):
    _, S = dense_and_csr
    _, sparse = fitted_pair
    B = S.copy()
    B.data[5] = bad
    for call in (GMVAEClustering(**SMALL).fit, sparse.predict, sparse.score_samples):
        with pytest.raises(ValueError, match=r"sparse matrix.*X\.data") as info:
            call(B)
        assert ("NaN" if np.isnan(bad) else "infinity") in str(info.value)


def test_sparse_rows_of_another_width_are_refused_as_dense_ones(fitted_pair):
    _, sparse = fitted_pair
    with pytest.raises(ValueError, match="31 features.*same columns"):
        sparse.predict(sp.random(5, 31, density=0.3, format="csr", random_state=0))


def test_bernoulli_refuses_sparse_values_above_one(dense_and_csr):
    _, S = dense_and_csr
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        GMVAEClustering(**dict(SMALL, likelihood="bernoulli")).fit(S)


def _with_explicit_zero(S, row, col):
    """``S`` (CSR) with a stored zero at ``(row, col)``, empty before."""
    coo = S.tocoo()
    out = sp.csr_matrix(
        (
            np.append(coo.data, 0).astype(S.dtype),
            (np.append(coo.row, row), np.append(coo.col, col)),
        ),
        shape=S.shape,
    )
    assert out.nnz == S.nnz + 1
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_column_statistics_match_numpy(monkeypatch, dtype):
    # blocks and chunks far smaller than the matrix, so that each boundary
    # (a block of rows, a chunk of stored values) is crossed many times
    monkeypatch.setattr(_data, "INFERENCE_BATCH", 7)
    monkeypatch.setattr(_data, "SPARSE_CHUNK", 5)
    rng = np.random.default_rng(1)
    X = rng.normal(50, 3, size=(60, 9))
    X[rng.random(X.shape) < 0.7] = 0
    X[:, 4] = 0  # an empty column
    X[:, 6] = -2.5  # a full, constant one
    X = X.astype(dtype)
    S = sp.csr_matrix(X)
    assert S[0, 4] == 0
    S = _with_explicit_zero(S, row=0, col=4)  # in the empty column
    mean, std = _data.sparse_column_mean_std(S)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        std, X.astype(np.float64).std(0), rtol=1e-9, atol=1e-12
    )
    dense_mean, dense_std = _data.dense_column_mean_std(X)
    np.testing.assert_array_equal(mean, dense_mean)
    np.testing.assert_allclose(std, dense_std, rtol=1e-12, atol=1e-15)


def test_duplicate_entries_are_summed_as_scipy_does():
    rows, cols = np.array([0, 0, 1, 2, 2]), np.array([1, 1, 0, 2, 2])
    vals = np.array([1.0, 2.0, -1.0, 4.0, -4.0])
    coo = sp.coo_matrix((vals, (rows, cols)), shape=(3, 3))
    model = GMVAEClustering(**SMALL)
    S = _data.validate(model, coo, reset=True)
    np.testing.assert_array_equal(S.toarray(), coo.toarray())
    mean, std = _data.column_mean_std(S)
    np.testing.assert_allclose(mean, coo.toarray().mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, coo.toarray().std(0), rtol=1e-12)


def test_training_rows_of_a_csr_matrix_are_the_dense_rows_scaled():
    X, _ = _counts(50, 12, seed=2)
    shift, scale = X.mean(0), X.std(0) + 0.5
    dense = _train.TrainingRows(X, shift, scale, "cpu")
    sparse = _train.TrainingRows(sp.csr_matrix(X), shift, scale, "cpu")
    idx = torch.tensor([4, 0, 49, 17, 4])
    np.testing.assert_array_equal(sparse[idx].numpy(), dense[idx].numpy())
    assert sparse[idx].dtype == torch.float32
    assert len(sparse) == 50 and sparse.shape == (50, 12)
    plain = _train.TrainingRows(sp.csr_matrix(X), None, None, "cpu")
    np.testing.assert_array_equal(plain[idx].numpy(), X[idx.numpy()].astype(np.float32))


class _RowsSeen(Callback):
    """Keeps the training rows each run reads from."""

    def __init__(self):
        self.seen = []

    def on_train_begin(self, trainer):
        self.seen.append(trainer.X._sparse)


def test_fit_reads_batches_from_the_callers_csr_matrix_without_copying(
    dense_and_csr,
):
    _, S = dense_and_csr
    spy = _RowsSeen()
    GMVAEClustering(**dict(SMALL, max_iter=1, callbacks=[spy])).fit(S)
    assert np.shares_memory(spy.seen[0].data, S.data)


def test_blocks_of_a_wide_sparse_matrix_stay_small():
    d = _train.SPARSE_BLOCK_VALUES // 3 + 1
    rows = _data.block_size(sp.csr_matrix((10, d)))
    assert rows == 2
    assert _data.block_size(sp.csr_matrix((10, 10 * _train.SPARSE_BLOCK_VALUES))) == 1
    assert _data.block_size(sp.csr_matrix((10, 5))) == _data.INFERENCE_BATCH
    assert _data.block_size(np.zeros((10, d))) == _data.INFERENCE_BATCH


def test_fit_and_predict_on_a_large_csr_matrix_never_densify_it():
    # One dense float64 copy of this matrix is 800 MB; its CSR form is 1.2 MB.
    n, d = 20_000, 5_000
    rng = np.random.default_rng(0)
    S = sp.random(n, d, density=0.001, format="csr", random_state=rng)
    S.data = np.ceil(S.data * 5)
    full_copy = n * d * 8
    model = GMVAEClustering(
        **dict(
            SMALL,
            n_components=4,
            max_iter=1,
            pretrain_epochs=1,
            batch_size=256,
            init_params="gmm",
        )
    )
    model.fit(S[:500])  # the modules that fitting imports, loaded first
    tic = time.perf_counter()
    tracemalloc.start()
    try:
        model.fit(S)
        labels = model.predict(S)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - tic
    assert peak < full_copy / 10, f"peak {peak / 1e6:.1f} MB in {seconds:.0f} s"
    assert labels.shape == (n,)
    np.testing.assert_array_equal(labels, model.labels_)
