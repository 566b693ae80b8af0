"""Memory-bounded inference, fitting without a copy of the data, partial_fit,
scaling a search out through joblib backends, and dask-ml's wrappers."""

import tracemalloc

import numpy as np
import pytest
import torch

from skgmvae import Callback, GMVAEClustering
from skgmvae import _data, _init, _train

SMALL = dict(
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(16,),
    prior_hidden=8,
    batch_size=64,
    n_score_samples=2,
    random_state=0,
)


def _pixels(n, d, seed=0):
    """uint8 rows in three groups, like flattened 8-bit images."""
    rng = np.random.default_rng(seed)
    centers = rng.integers(0, 256, size=(3, d))
    labels = rng.integers(0, 3, size=n)
    noise = rng.normal(0, 20, size=(n, d))
    return np.clip(centers[labels] + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pixel_model():
    X = _pixels(300, 400)
    model = GMVAEClustering(n_components=3, max_iter=2, pretrain_epochs=2, **SMALL)
    return model.fit(X)


def test_predict_on_uint8_memmap_converts_block_by_block(pixel_model, tmp_path):
    # A full float64 copy of this memmap is 128 MB; a float64 block of
    # 4,096 rows is 13 MB, and the conversion holds about two at a time.
    n, d = 40_000, 400
    data = np.lib.format.open_memmap(
        tmp_path / "x.npy", mode="w+", dtype=np.uint8, shape=(n, d)
    )
    data[:] = _pixels(n, d, seed=1)
    data.flush()
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    full_copy = n * d * 8

    expected = pixel_model.predict_proba(np.asarray(X, dtype=np.float64)[:5000])
    tracemalloc.start()
    try:
        labels = pixel_model.predict(X)
        proba = pixel_model.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < full_copy / 4, f"peak {peak / 1e6:.1f} MB"
    assert labels.shape == (n,)
    np.testing.assert_allclose(proba[:5000], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(labels, proba.argmax(1))


def test_block_validation_reports_bad_values_and_wrong_width(pixel_model):
    n = _data.INFERENCE_BATCH * 2 + 10
    X = np.zeros((n, 400))
    X[-1, 3] = np.nan  # in the last block only
    with pytest.raises(ValueError, match="NaN"):
        pixel_model.predict(X)
    with pytest.raises(ValueError, match="400 features"):
        pixel_model.predict(np.zeros((n, 399)))


class _RowsSeen(Callback):
    """Keeps the training rows each run reads from."""

    def __init__(self):
        self.seen = []

    def on_train_begin(self, trainer):
        self.seen.append(trainer.X._rows)


def test_fit_reads_rows_from_the_callers_array_without_copying():
    X = _pixels(300, 400).astype(np.float32)
    X.flags.writeable = False  # a read-only array (as np.load with mmap_mode="r")
    spy = _RowsSeen()
    GMVAEClustering(
        n_components=3, max_iter=1, pretrain_epochs=1, callbacks=[spy], **SMALL
    ).fit(X)
    assert spy.seen[0].data_ptr() == X.ctypes.data


def test_training_rows_scale_each_batch_like_the_whole_array():
    rng = np.random.default_rng(0)
    X = rng.normal(3, 5, size=(50, 6))
    shift, scale = X.mean(0), X.std(0)
    rows = _train.TrainingRows(X, shift, scale, "cpu")
    idx = torch.tensor([4, 0, 49, 17])
    expected = ((X - shift) / scale).astype(np.float32)[idx.numpy()]
    np.testing.assert_array_equal(rows[idx].numpy(), expected)
    assert rows[idx].dtype == torch.float32
    assert len(rows) == 50


def test_column_statistics_in_blocks_match_numpy(monkeypatch):
    monkeypatch.setattr(_data, "INFERENCE_BATCH", 7)
    X = np.random.default_rng(0).normal(1e4, 3, size=(50, 5)).astype(np.float32)
    mean, std = _data.column_mean_std(X)
    np.testing.assert_allclose(mean, X.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, X.astype(np.float64).std(0), rtol=1e-9)


def test_partial_fit_in_chunks_reaches_the_elbo_of_one_fit():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    X = X[np.random.default_rng(0).permutation(len(X))]
    settings = dict(
        n_components=10,
        latent_dim=5,
        hidden_layer_sizes=(64,),
        pretrain_epochs=20,
        n_iter_no_change=None,
        random_state=0,
    )
    passes, chunks = 15, np.array_split(X, 4)
    full = GMVAEClustering(max_iter=passes, kl_warmup=3, **settings).fit(X)
    part = GMVAEClustering(kl_warmup=3 * len(chunks), **settings)
    part.partial_fit(chunks[0])
    first = part.score(X)
    for _ in range(passes):
        for chunk in chunks:
            part.partial_fit(chunk)
    assert part.n_iter_ == 1 + passes * len(chunks)
    assert part.labels_.shape == (len(chunks[-1]),)
    target = full.score(X)
    print(f"\nbound per row: chunks {part.score(X):.1f}, one fit {target:.1f}")
    assert part.score(X) > first + 10  # the chunks did train it
    assert abs(part.score(X) - target) < 0.1 * abs(target), (part.score(X), target)


def test_partial_fit_checks_features_and_accepts_small_later_chunks():
    X = _pixels(200, 20).astype(float)
    model = GMVAEClustering(n_components=3, pretrain_epochs=2, **SMALL)
    model.partial_fit(X)
    model.partial_fit(X[:2])  # fewer rows than clusters is fine once initialised
    assert model.n_iter_ == 2
    with pytest.raises(ValueError, match="20 features"):
        model.partial_fit(X[:, :5])
    with pytest.raises(ValueError, match="n_components=3 must be <= n_samples=2"):
        GMVAEClustering(n_components=3, **SMALL).partial_fit(X[:2])
    assert np.isfinite(model.predict_proba(X)).all()


def test_column_statistics_do_not_overflow_near_the_float64_limit():
    X = np.array([[1e300, 0.0], [-1e300, 0.0], [3e300, 0.0]])
    mean, std = _data.column_mean_std(X)
    np.testing.assert_allclose(mean, [1e300, 0.0])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3) * 1e300, 0.0])


def test_grid_search_on_a_dask_cluster_matches_a_local_search():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV
    from threadpoolctl import threadpool_limits

    from skgmvae._utils import thread_limit

    X = _pixels(120, 12).astype(float)
    grid = {"n_components": [2, 3, 4]}
    model = GMVAEClustering(max_iter=3, pretrain_epochs=2, **SMALL)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # one torch thread per single-threaded worker: the nanny sets
        # OMP_NUM_THREADS=1 in each worker process, which the estimator follows
        assert set(client.run(thread_limit).values()) == {1}
        with parallel_backend("dask"):
            remote = GridSearchCV(model, grid, cv=2, n_jobs=-1).fit(X)
    with threadpool_limits(1):
        local = GridSearchCV(model, grid, cv=2, n_jobs=1).fit(X)
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-6,
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.best_estimator_.labels_, local.best_estimator_.labels_
    )


def test_mixture_initialisation_uses_a_seeded_subset_of_large_data(monkeypatch):
    from sklearn.mixture import GaussianMixture

    sizes = []
    original = GaussianMixture.fit

    def spy(self, X, y=None):
        sizes.append(X.shape)
        return original(self, X, y)

    monkeypatch.setattr(GaussianMixture, "fit", spy)
    monkeypatch.setattr(_init, "MIXTURE_INIT_ROWS", 50)
    X = _pixels(200, 10).astype(np.float32)
    params = dict(n_components=3, max_iter=1, pretrain_epochs=1, init_params="gmm", **SMALL)
    first = GMVAEClustering(**params).fit(X)
    again = GMVAEClustering(**params).fit(X)
    assert sizes == [(50, SMALL["latent_dim"])] * 2
    np.testing.assert_array_equal(first.labels_, again.labels_)


@pytest.fixture(scope="module")
def dask_client():
    """A client of a one-worker cluster with one thread in its own process,
    so that models travel to and from the worker pickled."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask_ml")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_ml_incremental_fits_chunk_by_chunk_like_partial_fit(dask_client):
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from threadpoolctl import threadpool_limits

    X = _pixels(400, 12).astype(float)
    dX = da.from_array(X, chunks=(100, 12))
    model = GMVAEClustering(n_components=3, pretrain_epochs=2, kl_warmup=4, **SMALL)
    inc = Incremental(model, shuffle_blocks=True, random_state=0).fit(dX)
    inc.partial_fit(dX)  # a second pass over the chunks
    # the same partial_fit calls, in the order Incremental shuffles the
    # chunks with random_state=0 (the same order in each pass)
    order = list(range(4))
    np.random.RandomState(0).shuffle(order)
    assert order != sorted(order)
    local = GMVAEClustering(n_components=3, pretrain_epochs=2, kl_warmup=4, **SMALL)
    with threadpool_limits(1):
        for i in order * 2:
            local.partial_fit(X[100 * i : 100 * (i + 1)])
    fitted = inc.estimator_
    assert fitted.n_iter_ == local.n_iter_ == 8
    assert [r["epoch"] for r in fitted.history_ if r["phase"] == "elbo"] == list(
        range(1, 9)
    )
    # the worker is a fresh process; on some CPUs (one with AVX-512 BF16 was
    # seen) a fit in a process that has already run another fit differs from
    # one in a fresh process in the last bits of float32 (relative 2e-7 in
    # these probabilities), so the two are compared to that precision: a
    # chunk taken out of order moves them by orders of magnitude more
    np.testing.assert_allclose(
        fitted.predict_proba(X), local.predict_proba(X), rtol=1e-5, atol=1e-9
    )
    np.testing.assert_array_equal(inc.predict(X), local.predict(X))


def test_dask_ml_parallel_post_fit_predicts_chunk_by_chunk(dask_client):
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit

    X = _pixels(2000, 12).astype(float)
    model = GMVAEClustering(n_components=3, max_iter=2, pretrain_epochs=2, **SMALL)
    wrapped = ParallelPostFit(model).fit(X[:300])
    fitted = wrapped.estimator  # ParallelPostFit fits its estimator in place
    dX = da.from_array(X, chunks=(150, 12))
    assert dX.numblocks[0] == 14
    labels = wrapped.predict(dX)
    assert isinstance(labels, da.Array) and labels.numblocks[0] == 14
    np.testing.assert_array_equal(labels.compute(), fitted.predict(X))
    # ParallelPostFit.predict_proba wants a classifier's classes_ and its
    # transform declares the input's width: map_blocks with the output chunks
    # gives both; float64 products round at the last bit with the block length
    close = dict(rtol=1e-10, atol=1e-12)
    proba = dX.map_blocks(
        fitted.predict_proba, chunks=(dX.chunks[0], fitted.n_components), dtype=float
    )
    latent = dX.map_blocks(
        fitted.transform, chunks=(dX.chunks[0], fitted.latent_dim), dtype=float
    )
    assert proba.shape == (2000, 3) and latent.shape == (2000, SMALL["latent_dim"])
    np.testing.assert_allclose(proba.compute(), fitted.predict_proba(X), **close)
    np.testing.assert_allclose(latent.compute(), fitted.transform(X), **close)


def test_training_rows_without_scaling_are_the_rows_as_given():
    X = np.random.default_rng(1).random((40, 5)).astype(np.float32)
    rows = _train.TrainingRows(X, None, None, "cpu")
    idx = torch.tensor([39, 0, 7, 7, 12])
    np.testing.assert_array_equal(rows[idx].numpy(), X[idx.numpy()])
    np.testing.assert_array_equal(rows[slice(3, 9)].numpy(), X[3:9])
    np.testing.assert_array_equal(rows[torch.tensor(5)].numpy(), X[5])
