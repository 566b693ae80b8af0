"""The estimator's behaviour as a scikit-learn user sees it."""

import pickle
import re

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skgmvae import Callback, GMVAEClustering
from skgmvae import _data
from skgmvae._fitting import fit_params, pretrain_epochs
from skgmvae.callbacks import PrintProgress

FAST = dict(
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(32,),
    prior_hidden=16,
    max_iter=20,
    pretrain_epochs=20,
    kl_warmup=3,
    batch_size=64,
    n_score_samples=4,
)


def _blobs(n=150, seed=0):
    X, y = make_blobs(
        n_samples=n, centers=3, n_features=4, cluster_std=0.6, random_state=seed
    )
    return X, y


def _model(**kw):
    return GMVAEClustering(**{"n_components": 3, "random_state": 0, **FAST, **kw})


class InterruptAt(Callback):
    """Raises KeyboardInterrupt (as Ctrl-C would) when the ``n``-th ELBO
    epoch from now begins; ``started`` lists the epochs begun."""

    def __init__(self, n):
        self.n = n
        self.started = []

    def on_epoch_begin(self, trainer, epoch):
        self.started.append(epoch)
        if len(self.started) == self.n:
            raise KeyboardInterrupt


class StepSizes(Callback):
    """The optimiser's step size in every ELBO epoch."""

    def __init__(self):
        self.rates = []

    def on_epoch_begin(self, trainer, epoch):
        self.rates.append(trainer.optimizer.param_groups[0]["lr"])


class Splits(Callback):
    """(components before, components after) of every split."""

    def __init__(self):
        self.splits = []

    def on_split(self, trainer, before, after):
        self.splits.append((before, after))


class ComponentsPerEpoch(Callback):
    """The number of components in every ELBO epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_begin(self, trainer, epoch):
        self.seen.append(trainer.net.n_components)


class InterruptPretraining(Callback):
    def on_pretrain_epoch_begin(self, trainer, epoch):
        raise KeyboardInterrupt


class ThreadCount(Callback):
    def __init__(self):
        self.seen = []

    def on_train_begin(self, trainer):
        self.seen.append(torch.get_num_threads())


@pytest.fixture(scope="module")
def fitted():
    X, y = _blobs()
    return _model().fit(X), X, y


def test_fit_attributes_and_shapes(fitted):
    model, X, y = fitted
    assert model.labels_.shape == (X.shape[0],)
    assert model.n_features_in_ == 4
    assert 1 <= model.n_iter_ <= FAST["max_iter"]
    assert isinstance(model.converged_, bool)
    assert np.isfinite(model.lower_bound_)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(1))
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert model.transform(X).shape == (X.shape[0], FAST["latent_dim"])
    assert model.score_samples(X).shape == (X.shape[0],)
    assert model.score(X) == pytest.approx(model.score_samples(X).mean())
    assert list(model.get_feature_names_out()) == [
        f"gmvaeclustering{i}" for i in range(3)
    ]
    assert adjusted_rand_score(y, model.labels_) > 0.9


def test_history_records_every_epoch_and_term(fitted):
    model, _, _ = fitted
    pre = [r for r in model.history_ if r["phase"] == "pretrain"]
    elbo = [r for r in model.history_ if r["phase"] == "elbo"]
    assert len(pre) == FAST["pretrain_epochs"]
    assert len(elbo) == model.n_iter_
    for rec in elbo:
        for key in (
            "elbo",
            "reconstruction",
            "conditional_prior",
            "w_prior",
            "z_prior",
            "time",
        ):
            assert np.isfinite(rec[key])
        assert rec["elbo"] == pytest.approx(
            rec["reconstruction"]
            - rec["conditional_prior"]
            - rec["w_prior"]
            - rec["z_prior"],
            rel=1e-5,
            abs=1e-5,
        )
        assert (
            rec["conditional_prior"] >= 0
            and rec["w_prior"] >= 0
            and rec["z_prior"] >= -1e-6
        )
    weights = [r["kl_weight"] for r in elbo]
    assert weights[0] == pytest.approx(1 / 3) and weights[-1] == 1.0


@pytest.mark.parametrize(
    "n_samples, batch_size, expected",
    [
        (1797, 128, 100),
        (10000, 128, 100),
        (14000, 128, 100),
        (20000, 128, 70),
        (70000, 128, 20),
        (20, 128, 100),
        (10**7, 128, 2),
    ],
)
def test_auto_pretraining_length(n_samples, batch_size, expected):
    model = GMVAEClustering(batch_size=batch_size)
    assert pretrain_epochs(model, n_samples) == expected
    assert pretrain_epochs(GMVAEClustering(pretrain_epochs=7), n_samples) == 7


@pytest.mark.parametrize(
    "n_samples, batch, rate, epochs",
    [
        (150, 128, 1e-3, 100),
        (20_000, 128, 1e-3, 100),
        (23_000, 128, 1e-3, 100),
        (35_000, 256, 2e-3, 100),
        (40_000, 256, 2e-3, 88),
        (70_000, 256, 2e-3, 50),
        (10**7, 256, 2e-3, 10),
    ],
)
def test_auto_schedule_follows_the_size_of_the_data(n_samples, batch, rate, epochs):
    # the defaults are "auto"
    for model in (GMVAEClustering(), GMVAEClustering(max_iter="auto", batch_size="auto")):
        params = fit_params(model, n_samples, None, 0.0, 10)
        assert params.batch_size == batch
        assert params.learning_rate == pytest.approx(rate, rel=1e-12)
        assert params.max_iter == epochs
    # explicit values are kept as they are
    model = GMVAEClustering(batch_size=32, learning_rate=0.01, max_iter=7)
    params = fit_params(model, n_samples, None, 0.0, 10)
    assert (params.batch_size, params.learning_rate, params.max_iter) == (32, 0.01, 7)
    # a call's own number of epochs (partial_fit: 1) wins over max_iter
    assert fit_params(GMVAEClustering(), n_samples, 1, 0.0, 10).max_iter == 1
    # an explicit batch size with the automatic step size: in proportion up
    # to twice the step size at 128 rows
    for rows, expected in ((64, 1e-3), (192, 1.5e-3), (512, 2e-3)):
        model = GMVAEClustering(batch_size=rows)
        params = fit_params(model, n_samples, None, 0.0, 10)
        assert params.learning_rate == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "n_samples, start, weight, neighbours, latent",
    [
        (150, "spectral_or_gaussian", 1.0, 25, 0),
        (250, "spectral_or_gaussian", 1.0, 25, 0),
        (251, "spectral_or_gaussian", 1.0, 15, 0),
        (20_000, "spectral_or_gaussian", 1.0, 15, 0),
        (20_001, "consensus", 0.0, 15, 3),
    ],
)
def test_auto_start_and_neighbour_term_follow_the_size_of_the_data(
    n_samples, start, weight, neighbours, latent
):
    params = fit_params(GMVAEClustering(), n_samples, 100, 0.0, 10)
    assert (params.init_params, params.graph_weight) == (start, weight)
    assert params.n_neighbors == neighbours
    # the last epochs on the trained graph: a call to fit (max_iter None) only
    assert params.latent_graph_epochs == 0
    params = fit_params(GMVAEClustering(), n_samples, None, 0.0, 10)
    assert params.latent_graph_epochs == latent
    # explicit values are kept
    model = GMVAEClustering(init_params="gmm", graph_weight=0.5, n_neighbors=7)
    params = fit_params(model, n_samples, None, 0.0, 10)
    assert (params.init_params, params.graph_weight) == ("gmm", 0.5)
    assert params.n_neighbors == 7
    assert params.latent_graph_epochs == 0


def test_score_is_above_elbo_on_average(fitted):
    model, X, _ = fitted
    # the importance-weighted bound is at least as tight as the ELBO
    assert model.score(X) >= model.lower_bound_ - 0.5


def test_sample_gives_rows_in_input_units(fitted):
    model, X, _ = fitted
    Xs, labels = model.sample(300)
    assert Xs.shape == (300, 4) and labels.shape == (300,)
    assert set(np.unique(labels)) <= {0, 1, 2}
    assert np.all(np.isfinite(Xs))
    # generated data lives where the training data does
    assert np.all(np.abs(Xs.mean(0) - X.mean(0)) < 2 * X.std(0))
    Xs2, labels2 = model.sample(300)
    np.testing.assert_array_equal(Xs, Xs2)  # random_state fixed -> same draw
    np.testing.assert_array_equal(labels, labels2)


def test_same_seed_is_bit_identical_and_other_seed_differs():
    X, _ = _blobs()
    a = _model(random_state=3).fit(X)
    b = _model(random_state=3).fit(X)
    c = _model(random_state=4).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_pretraining_is_shared_across_n_components():
    # one seed gives the same autoencoder whatever K, so that the candidates
    # of a search over n_components differ only in their mixtures
    X, _ = _blobs()
    losses = []
    for k in (2, 3, 6):
        est = _model(n_components=k, random_state=5).fit(X)
        losses.append(
            [h["reconstruction"] for h in est.history_ if h["phase"] == "pretrain"]
        )
    assert len(losses[0]) > 1
    assert losses[0] == losses[1] == losses[2]
    other = _model(n_components=2, random_state=6).fit(X)
    assert [
        h["reconstruction"] for h in other.history_ if h["phase"] == "pretrain"
    ] != losses[0]


def test_batch_equals_row_by_row(fitted):
    model, X, _ = fitted
    rows = X[:25]
    full = model.predict_proba(rows)
    single = np.vstack([model.predict_proba(r[None]) for r in rows])
    np.testing.assert_allclose(full, single, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(
        model.predict(rows), np.concatenate([model.predict(r[None]) for r in rows])
    )
    np.testing.assert_allclose(
        model.score_samples(rows),
        np.concatenate([model.score_samples(r[None]) for r in rows]),
        rtol=1e-10,
    )


def test_inference_in_blocks_matches_one_block(fitted, monkeypatch):
    model, X, _ = fitted
    whole = model.predict_proba(X)
    monkeypatch.setattr(_data, "INFERENCE_BATCH", 7)
    np.testing.assert_allclose(model.predict_proba(X), whole, rtol=1e-10, atol=1e-12)


def test_float32_input_is_not_upcast(fitted, monkeypatch):
    model, X, _ = fitted
    X32 = X.astype(np.float32)
    assert model.transform(X32).dtype == np.float32
    assert model.transform(X).dtype == np.float64
    seen = []
    original = _data.validate_data

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(_data, "validate_data", spy)
    _model(max_iter=1, pretrain_epochs=1).fit(X32)
    assert seen[0].dtype == np.float32
    assert np.shares_memory(seen[0], X32)


def test_pipeline_clone_cross_val_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X, _ = _blobs()
    pipe = Pipeline([("scale", StandardScaler()), ("gmvae", _model())])
    labels = pipe.fit_predict(X)
    assert labels.shape == (X.shape[0],)
    scores = cross_val_score(clone(pipe), X, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = _model().set_output(transform="pandas").fit(df)
    out = model.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [
        "gmvaeclustering0",
        "gmvaeclustering1",
        "gmvaeclustering2",
    ]
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "d"])


def test_grid_search_over_n_components_in_parallel():
    X, _ = _blobs()
    search = GridSearchCV(_model(), {"n_components": [2, 3]}, cv=2, n_jobs=2)
    search.fit(X)
    assert search.best_params_["n_components"] in (2, 3)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def _threads_in_worker():
    from skgmvae import _utils

    return _utils.thread_limit()


def test_threads_follow_threadpoolctl_and_joblib_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        from skgmvae._utils import thread_limit

        assert thread_limit() == 1
    n_cpu = joblib.cpu_count()
    counts = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_threads_in_worker)() for _ in range(2)
    )
    assert all(c <= max(1, n_cpu // 2) for c in counts)


@pytest.mark.parametrize(
    "hidden, expected",
    [
        # a small step trains on one thread whatever the limit
        ((32,), 1),
        # a large one (2 x 2048 x 2048 weights x 64 rows) takes the limit
        ((2048, 2048), 2),
    ],
)
def test_training_threads_follow_the_limit_and_the_size_of_a_step(
    monkeypatch, hidden, expected
):
    from skgmvae import _utils

    monkeypatch.setattr(_utils, "thread_limit", lambda: 2)
    threads = ThreadCount()
    before = torch.get_num_threads()
    model = _model(
        max_iter=1, pretrain_epochs=1, hidden_layer_sizes=hidden, callbacks=[threads]
    )
    model.fit(_blobs()[0])
    assert threads.seen == [expected]
    assert torch.get_num_threads() == before


def test_training_never_exceeds_the_thread_limit(monkeypatch):
    from skgmvae import _utils

    monkeypatch.setattr(_utils, "thread_limit", lambda: 1)
    threads = ThreadCount()
    _model(
        max_iter=1, pretrain_epochs=1, hidden_layer_sizes=(2048, 2048), callbacks=[threads]
    ).fit(_blobs()[0])
    assert threads.seen == [1]


class DenormalState(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, trainer, record):
        from skgmvae._utils import denormals_flushed

        self.seen.append(denormals_flushed())


@pytest.mark.parametrize("before", [False, True])
def test_training_flushes_denormals_and_restores_the_setting(before):
    from skgmvae._utils import denormals_flushed

    if not torch.set_flush_denormal(before) and before:
        pytest.skip("this CPU cannot flush denormals")
    try:
        state = DenormalState()
        _model(max_iter=2, pretrain_epochs=1, callbacks=[state]).fit(_blobs()[0])
        assert state.seen == [True, True]
        assert denormals_flushed() == before
    finally:
        torch.set_flush_denormal(False)


def test_denormal_probe_sees_the_setting():
    from skgmvae._utils import denormals_flushed, flush_denormals

    assert not denormals_flushed()
    with flush_denormals():
        assert denormals_flushed() == torch.set_flush_denormal(True)
    assert not denormals_flushed()


def test_workers_started_before_the_block_flush_inside_it():
    from skgmvae._utils import flush_denormals, torch_threads

    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    torch.set_flush_denormal(False)
    tiny = torch.full((2**22,), 1e-39)  # denormal in float32
    with torch_threads(2):
        # a parallel operation starts the OpenMP workers, which do not flush
        unflushed = int(((tiny * 2.0) != 0).sum())
        with flush_denormals():
            inside = int(((tiny * 2.0) != 0).sum())
        after = int(((tiny * 2.0) != 0).sum())
    assert unflushed == tiny.numel()
    assert inside == 0  # every thread's share is flushed, the workers' too
    assert after == tiny.numel()  # and nothing flushes once the block is left


def test_raw_unscaled_wine_trains_stably():
    X, y = load_wine(return_X_y=True)
    model = GMVAEClustering(
        n_components=3, random_state=0, max_iter=30, pretrain_epochs=20
    ).fit(X)
    assert np.all(np.isfinite(model.predict_proba(X)))
    assert np.isfinite(model.score(X))
    assert all(np.isfinite(r["reconstruction"]) for r in model.history_)
    assert adjusted_rand_score(y, model.labels_) > 0.5


def test_bernoulli_on_images_in_unit_interval():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    model = GMVAEClustering(
        n_components=5,
        likelihood="bernoulli",
        random_state=0,
        **{**FAST, "max_iter": 5},
    ).fit(X)
    assert model.predict_proba(X).shape == (300, 5)
    Xs, _ = model.sample(10)
    assert set(np.unique(Xs)) <= {0.0, 1.0}
    assert np.isfinite(model.score(X))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(X * 16)


def test_n_init_keeps_the_best_lower_bound(capsys):
    X, _ = _blobs()
    model = _model(n_init=3, verbose=1).fit(X)
    out = capsys.readouterr().out
    bounds = [float(b) for b in re.findall(r"Initialization \d/3: bound (\S+)", out)]
    assert len(bounds) == 3
    # the printed bounds have 4 significant digits
    assert model.lower_bound_ == pytest.approx(max(bounds), rel=1e-3)
    kept = int(re.search(r"kept initialization (\d)", out).group(1))
    assert bounds[kept - 1] == max(bounds)


def test_early_stopping_and_convergence_warning():
    X, _ = _blobs()
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        _model(max_iter=2, n_iter_no_change=5).fit(X)
    model = _model(max_iter=200, n_iter_no_change=2, tol=0.5)
    model.fit(X)
    assert model.converged_ and model.n_iter_ < 200


def test_verbose_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.setattr(PrintProgress, "PRETRAIN_EVERY", float("inf"))
    X, _ = _blobs()
    model = _model(max_iter=3, pretrain_epochs=4, verbose=1, n_iter_no_change=None)
    model.fit(X)
    lines = capsys.readouterr().out.splitlines()
    epochs = [line for line in lines if line.startswith("[elbo] epoch")]
    assert len(epochs) == 3
    records = [r for r in model.history_ if r["phase"] == "elbo"]
    for i, (line, record) in enumerate(zip(epochs, records), 1):
        assert f"epoch {i}/3 " in line
        assert (
            f"ELBO {record['elbo']:.4g} = recon {record['reconstruction']:.4g}" in line
        )
        assert f"z {record['z_prior']:.4g}" in line
        assert "elapsed" in line and "left" in line
    # pretraining is summed up in one line, not one per epoch
    pretrain = [line for line in lines if line.startswith("[pretrain]")]
    assert len(pretrain) == 1 and "4 autoencoder epochs" in pretrain[0]
    assert lines[-1].startswith("GMVAEClustering:") and "lower_bound_" in lines[-1]
    # the blobs are apart and Gaussian: the spectral start is refined by the
    # mixture of the input rows, and one line says that the neighbour term
    # holds each row at its own cluster of it
    assert model._train_state.graph.held
    assert "refined by a full Gaussian mixture of the input rows" in pretrain[0]
    assert lines[1] == (
        "[elbo] the start is a Gaussian mixture of the input: the neighbour term "
        "holds each row at its own start cluster"
    )
    assert len(lines) == 6


def test_verbose_zero_prints_nothing(capsys):
    X, _ = _blobs()
    _model(max_iter=2, pretrain_epochs=1, verbose=0, n_iter_no_change=None).fit(X)
    _model(max_iter=2, pretrain_epochs=1, n_init=2, n_iter_no_change=None).fit(X)
    assert capsys.readouterr() == ("", "")


def test_verbose_two_prints_pretraining_epochs(capsys):
    X, _ = _blobs()
    _model(max_iter=1, pretrain_epochs=3, verbose=2, n_iter_no_change=None).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert [line[:22] for line in lines if "[pretrain] epoch" in line] == [
        f"[pretrain] epoch {i}/3 |" for i in (1, 2, 3)
    ]


def test_long_pretraining_gets_interim_lines(capsys, monkeypatch):
    monkeypatch.setattr(PrintProgress, "PRETRAIN_EVERY", 0.0)
    X, _ = _blobs()
    _model(max_iter=1, pretrain_epochs=3, verbose=1, n_iter_no_change=None).fit(X)
    lines = [
        line for line in capsys.readouterr().out.splitlines() if "[pretrain]" in line
    ]
    # epochs 1 and 2 as they finish, then the summary
    assert len(lines) == 3 and "left" in lines[0] and "3 autoencoder" in lines[2]


def test_verbose_reports_rollbacks_and_initializations(capsys, monkeypatch):
    X, _ = _blobs()
    _nan_loss_on_calls(monkeypatch, {8})
    model = _model(n_iter_no_change=None, max_iter=4, verbose=1, n_init=2)
    model.fit(X)
    out = capsys.readouterr().out
    assert "epoch 3: the loss became non-finite" in out
    assert "Initialization 2/2: bound" in out
    assert "kept initialization" in out


def test_not_fitted_errors():
    with pytest.raises(NotFittedError, match="Call 'fit'"):
        GMVAEClustering().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError, match="Call 'fit'"):
        GMVAEClustering().sample(2)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [1.0, 1.0]]), "NaN.*SimpleImputer"),
        (np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), "infinity.*isfinite"),
        (np.zeros((0, 3)), "0 sample.*at least 2"),
        (np.zeros((1, 3)), "1 sample.*at least 2"),
        (np.zeros((3, 0)), "0 feature.*at least one column"),
        (
            np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object),
            "could not convert.*OneHotEncoder",
        ),
        (np.zeros((4, 2, 2)), "3"),
        (np.arange(5.0), "2D array"),
    ],
)
def test_bad_training_data_is_a_clear_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        GMVAEClustering(n_components=1).fit(X)


def test_more_components_than_rows():
    with pytest.raises(
        ValueError, match="n_components=5 must be <= n_samples=3.*n_components=3 or"
    ):
        GMVAEClustering(n_components=5).fit(np.random.rand(3, 2))


def test_wrong_feature_count_at_predict(fitted):
    model, _, _ = fitted
    with pytest.raises(ValueError, match="5 features.*same columns"):
        model.predict(np.zeros((3, 5)))
    big = np.zeros((_data.INFERENCE_BATCH + 1, 5))  # validated by blocks
    with pytest.raises(ValueError, match="5 features.*same columns"):
        model.transform(big)


def test_bad_values_at_predict_say_what_to_do(fitted):
    model, X, _ = fitted
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN.*drop the rows"):
        model.predict(bad)
    big = np.repeat(X[:1], _data.INFERENCE_BATCH + 1, axis=0)
    big[-1, 0] = np.inf
    with pytest.raises(ValueError, match="infinity.*isfinite"):
        model.predict_proba(big)


def test_renamed_columns_at_predict_say_what_to_do():
    pd = pytest.importorskip("pandas")
    X, _ = _blobs(60)
    df = pd.DataFrame(X, columns=list("abcd"))
    model = _model(max_iter=1, pretrain_epochs=1, n_iter_no_change=None).fit(df)
    with pytest.raises(ValueError, match="(?s)feature names.*feature_names_in_"):
        model.predict(df.rename(columns={"d": "e"}))


@pytest.mark.parametrize(
    "param, value",
    [
        ("n_components", 0),
        ("n_components", 2.5),
        ("latent_dim", -1),
        ("max_iter", 0),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("learning_rate_decay", -0.1),
        ("learning_rate_decay", 1.0),
        ("tol", -1.0),
        ("min_information", -0.1),
        ("kl_warmup", -1),
        ("n_init", 0),
        ("n_mc_samples", 0),
        ("hidden_layer_sizes", ()),
        ("hidden_layer_sizes", (10, 0)),
        ("likelihood", "poisson"),
        ("n_iter_no_change", 0),
        ("verbose", -1),
        ("pretrain_epochs", "always"),
        ("pretrain_epochs", -2),
        ("n_components", True),
        ("learning_rate", True),
        ("tol", float("inf")),
        ("hidden_layer_sizes", True),
        ("hidden_layer_sizes", (10, 2.5)),
        ("hidden_layer_sizes", "64"),
        ("warm_start", 1),
        ("device", 0),
        ("random_state", -1),
    ],
)
def test_bad_parameters_name_the_parameter(param, value):
    X, _ = _blobs(30)
    # the message names the parameter and the values it accepts
    with pytest.raises(
        ValueError, match=f"The '{param}' parameter of GMVAEClustering must be .* Got"
    ):
        GMVAEClustering(**{"n_components": 2, param: value}).fit(X)


def test_bad_parameters_are_checked_by_partial_fit():
    with pytest.raises(ValueError, match="The 'learning_rate' parameter"):
        GMVAEClustering(learning_rate=-1.0).partial_fit(np.zeros((4, 2)))


def test_pretrain_epochs_error_mentions_auto():
    with pytest.raises(ValueError, match="int in the range.* or a str among {'auto'}"):
        GMVAEClustering(pretrain_epochs="always").fit(np.zeros((4, 2)))


@pytest.mark.parametrize(
    "hidden, expected", [(8, (8,)), ([16, 8], (16, 8)), (np.array([4, 2]), (4, 2))]
)
def test_hidden_layer_sizes_accepts_an_int_or_a_sequence(hidden, expected):
    X, _ = _blobs(30)
    model = _model(hidden_layer_sizes=hidden, max_iter=1, n_iter_no_change=None)
    model.fit(X)
    assert model._net_config["hidden_layer_sizes"] == expected
    assert all(type(size) is int for size in model._net_config["hidden_layer_sizes"])


@pytest.mark.parametrize("n_samples", [0, -1, 2.5, True, "3"])
def test_sample_rejects_bad_counts(fitted, n_samples):
    model, _, _ = fitted
    with pytest.raises(ValueError, match="'n_samples' parameter.*int >= 1"):
        model.sample(n_samples)


def test_unavailable_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, _ = _blobs(30)
    with pytest.raises(ValueError, match="not available.*use device='cpu'"):
        GMVAEClustering(n_components=2, device="cuda").fit(X)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(ValueError, match="build without CUDA"):
        GMVAEClustering(n_components=2, device="cuda:0").fit(X)
    with pytest.raises(ValueError, match="not a valid torch device"):
        GMVAEClustering(n_components=2, device="gpu-please").fit(X)


def test_no_global_torch_rng_side_effect():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _model(max_iter=1, pretrain_epochs=1).fit(_blobs()[0])
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_keyboard_interrupt_leaves_a_usable_model():
    X, _ = _blobs()
    interrupt = InterruptAt(3)
    with pytest.warns(UserWarning, match="interrupted"):
        model = _model(n_init=3, callbacks=[interrupt]).fit(X)
    assert model.n_iter_ == 2  # two finished epochs, the third was cut
    assert interrupt.started == [1, 2, 3]  # no other initialization started
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert model.labels_.shape == (X.shape[0],)


def test_divergence_is_a_clear_error_not_nan_output():
    X, _ = _blobs()
    model = _model(learning_rate=1e12, max_iter=30, pretrain_epochs=5)
    try:
        model.fit(X * 1e6)
    except FloatingPointError as exc:
        assert "learning_rate" in str(exc)
    else:  # training survived: then nothing it returns may be NaN
        assert np.all(np.isfinite(model.predict_proba(X * 1e6)))


def _nan_loss_on_calls(monkeypatch, bad_calls):
    from skgmvae import _elbo

    original = _elbo.training_loss
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        loss = original(*args, **kwargs)
        return loss * float("nan") if len(calls) in bad_calls else loss

    monkeypatch.setattr(_elbo, "training_loss", flaky)
    return calls


def test_divergence_rolls_back_and_retries_with_a_smaller_step(monkeypatch):
    X, _ = _blobs()  # 150 rows, batch 64: 3 steps an epoch
    _nan_loss_on_calls(monkeypatch, {8})  # third epoch, second step
    model = _model(n_iter_no_change=None, max_iter=5).fit(X)
    rollbacks = [r for r in model.history_ if r["phase"] == "rollback"]
    assert len(rollbacks) == 1
    assert rollbacks[0]["epoch"] == 3
    # a tenth of the automatic step size at 64 rows a minibatch, 1e-3
    assert rollbacks[0]["learning_rate"] == pytest.approx(1e-3 / 10)
    assert model.n_iter_ == 5  # the diverged epoch was run again
    assert [r["epoch"] for r in model.history_ if r["phase"] == "elbo"] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert np.all(np.isfinite(model.predict_proba(X)))


def test_persistent_divergence_gives_up_with_a_clear_error(monkeypatch):
    X, _ = _blobs()
    _nan_loss_on_calls(monkeypatch, set(range(4, 10_000)))
    with pytest.raises(FloatingPointError, match="3 retries"):
        _model(n_iter_no_change=None, max_iter=5).fit(X)


def test_warm_start_resumes_bit_for_bit():
    X, _ = _blobs()
    once = _model(max_iter=8, n_iter_no_change=None).fit(X)
    twice = _model(max_iter=4, n_iter_no_change=None, warm_start=True).fit(X)
    twice.fit(X)
    # the equality holds where both fits go back to the same epoch (here one
    # of the second call's) or neither goes back
    returns = [[r for r in m.history_ if r["phase"] == "best"] for m in (once, twice)]
    assert returns[0] == returns[1]
    assert twice.n_iter_ == 8
    assert [r["epoch"] for r in twice.history_ if r["phase"] == "elbo"] == list(
        range(1, 9)
    )
    np.testing.assert_array_equal(twice.predict_proba(X), once.predict_proba(X))
    np.testing.assert_array_equal(twice.transform(X), once.transform(X))
    assert twice.lower_bound_ == once.lower_bound_


def test_warm_start_survives_pickling_and_checks_the_architecture():
    X, _ = _blobs()
    once = _model(max_iter=6, n_iter_no_change=None).fit(X)
    part = _model(max_iter=3, n_iter_no_change=None, warm_start=True).fit(X)
    resumed = pickle.loads(pickle.dumps(part)).fit(X)
    np.testing.assert_array_equal(resumed.predict_proba(X), once.predict_proba(X))
    with pytest.raises(ValueError, match="warm_start"):
        resumed.set_params(latent_dim=5).fit(X)
    with pytest.raises(ValueError, match="features"):
        resumed.set_params(latent_dim=FAST["latent_dim"]).fit(X[:, :3])
    # without warm_start a refit starts over and matches a fresh fit
    fresh = _model(max_iter=3, n_iter_no_change=None).fit(X)
    np.testing.assert_array_equal(
        part.set_params(warm_start=False).fit(X).predict_proba(X),
        fresh.predict_proba(X),
    )


def test_learning_rate_decay_schedule():
    from skgmvae._train import decayed_learning_rate

    rates = [decayed_learning_rate(1.0, step, 100, 0.5) for step in range(1, 101)]
    assert rates[:50] == [1.0] * 50
    assert rates[50] == pytest.approx(50 / 51)
    assert rates[-1] == pytest.approx(1 / 51)
    assert np.all(np.diff(rates[49:]) == pytest.approx(-1 / 51))
    assert [decayed_learning_rate(1.0, s, 10, 0.0) for s in range(1, 11)] == [1.0] * 10


def test_learning_rate_decay_reaches_the_optimiser():
    X, _ = _blobs()
    steps = StepSizes()
    rates = steps.rates
    kw = dict(max_iter=4, n_iter_no_change=None, learning_rate=0.01, callbacks=[steps])
    model = _model(learning_rate_decay=0.5, warm_start=True, **kw).fit(X)
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.01 * 2 / 3, 0.01 / 3])
    # a continuation anneals its own epochs again, from learning_rate
    model.fit(X)
    np.testing.assert_allclose(rates[4:], [0.01, 0.01, 0.01 * 2 / 3, 0.01 / 3])
    # partial_fit and the default keep the step size constant
    model.partial_fit(X)
    assert rates[8] == 0.01
    del rates[:]
    constant = _model(**kw).fit(X)
    assert rates == [0.01] * 4
    decayed = _model(learning_rate_decay=0.5, **kw).fit(X)
    # (the assignments of well-parted blobs may be certain in both)
    assert not np.array_equal(constant.transform(X), decayed.transform(X))


def test_allocate_components_shares_in_proportion():
    from skgmvae._init import allocate_components

    counts = allocate_components([600, 300, 100], 10)
    np.testing.assert_array_equal(counts, [6, 3, 1])
    # every non-empty cluster keeps one, an empty one gets none, no cluster
    # gets more than its rows, and the total is exact
    counts = allocate_components([1000, 2, 0, 1], 8)
    np.testing.assert_array_equal(counts, [6, 1, 0, 1])
    counts = allocate_components([3, 3, 2], 8)
    np.testing.assert_array_equal(counts, [3, 3, 2])
    for sizes, k in [([5, 5, 5], 4), ([10, 1, 1, 1], 5), ([7, 0, 9], 16)]:
        counts = allocate_components(sizes, k)
        assert counts.sum() == k
        assert np.all(counts <= sizes)
        assert np.all((counts > 0) == (np.asarray(sizes) > 0))


def test_grow_from_splits_halfway_into_n_components():
    X, y = make_blobs(
        n_samples=400, centers=4, n_features=6, cluster_std=0.5, random_state=0
    )
    counts, recorder = ComponentsPerEpoch(), Splits()
    # with this tol every epoch after the warm-up counts as a stall
    kw = {"max_iter": 12, "n_iter_no_change": 2, "tol": 10.0}
    kw["callbacks"] = [counts, recorder]
    model = _model(n_components=8, grow_from=4, **kw).fit(X)
    # four components for max_iter // 2 epochs, then eight; early stopping
    # waited for the split, then fired two epochs after the best one
    assert counts.seen == [4] * 6 + [8] * 3
    assert model.converged_ and model.n_iter_ == 9
    assert recorder.splits == [(4, 8)]
    proba = model.predict_proba(X)
    assert proba.shape == (400, 8)
    # the fine components refine the four blobs: each holds one blob's rows
    labels = model.predict(X)
    for k in np.unique(labels):
        assert len(np.unique(y[labels == k])) == 1
    assert len(np.unique(labels)) > 4


def test_grow_from_at_or_above_n_components_changes_nothing():
    X, _ = _blobs()
    recorder = Splits()
    plain = _model(max_iter=4).fit(X).predict_proba(X)
    for grow_from in (3, 5):
        model = _model(max_iter=4, grow_from=grow_from, callbacks=[recorder])
        np.testing.assert_array_equal(model.fit(X).predict_proba(X), plain)
    assert recorder.splits == []


def test_grow_from_is_reproducible_and_continues():
    X, _ = _blobs()
    recorder = Splits()
    splits = recorder.splits
    kw = {"n_components": 6, "grow_from": 2, "max_iter": 4, "warm_start": True}
    kw["callbacks"] = [recorder]
    first = _model(**kw).fit(X)
    second = _model(**kw).fit(X)
    assert splits == [(2, 6), (2, 6)]
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    # a continuation trains the six components, with no new split, also
    # after a round trip through pickle
    first.fit(X)
    assert len(splits) == 2 and first.n_iter_ == 8
    restored = pickle.loads(pickle.dumps(second)).set_params(callbacks=[recorder])
    restored.fit(X)
    np.testing.assert_array_equal(first.predict_proba(X), restored.predict_proba(X))
    assert len(splits) == 2
    model = _model(n_components=6, grow_from=2, callbacks=[recorder]).partial_fit(X)
    assert splits[2:] == [(2, 6)]
    assert model.predict_proba(X).shape == (150, 6)
    # each restart of n_init grows its own mixture
    kw = dict(n_components=6, grow_from=2, max_iter=2, n_init=2)
    _model(callbacks=[recorder], **kw).fit(X)
    assert splits[3:] == [(2, 6), (2, 6)]


def test_grow_from_without_pretraining_starts_from_distinct_components():
    X, _ = _blobs()
    model = _model(n_components=6, grow_from=3, pretrain_epochs=0, max_iter=2)
    assert len(np.unique(model.fit_predict(X))) > 1


def test_grow_from_interrupted_before_the_split():
    X, _ = _blobs()
    recorder = Splits()
    kw = dict(n_components=6, grow_from=2, max_iter=6, warm_start=True)
    model = _model(callbacks=[InterruptAt(2), recorder], **kw)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X)
    assert model.n_iter_ == 1
    proba = model.predict_proba(X)  # the mixture was split on the way out
    assert proba.shape == (150, 6) and np.all(np.isfinite(proba))
    assert recorder.splits == [(2, 6)]
    # and a continuation trains it, without a second split
    model.set_params(callbacks=[recorder]).fit(X)
    assert model.n_iter_ == 7 and recorder.splits == [(2, 6)]
    assert model.predict_proba(X).shape == (150, 6)


def test_grow_from_interrupted_in_pretraining():
    X, _ = _blobs()
    interrupt = [InterruptPretraining()]
    with pytest.warns(UserWarning, match="interrupted"):
        # the same interruption, no growing
        built = _model(n_components=6, callbacks=interrupt).fit(X)
    model = _model(n_components=6, grow_from=2, callbacks=interrupt)
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X)
    # the prior network is back as built: six distinct components
    np.testing.assert_array_equal(model.predict_proba(X), built.predict_proba(X))


class StopAt(Callback):
    """Ends training after ELBO epoch ``n`` of each run; counts the hooks."""

    def __init__(self, n):
        self.n = n
        self.calls = {}

    def _count(self, hook):
        self.calls[hook] = self.calls.get(hook, 0) + 1

    def on_train_begin(self, trainer):
        self._count("train_begin")

    def on_pretrain_epoch_end(self, trainer, record):
        self._count("pretrain_epoch_end")

    def on_epoch_end(self, trainer, record):
        self._count("epoch_end")
        assert record is trainer.history[-1]
        if record["epoch"] == self.n:
            trainer.converged = True

    def on_train_end(self, trainer):
        self._count("train_end")


def test_callbacks_see_every_run_and_can_stop_training():
    X, _ = _blobs()
    stop = StopAt(2)
    model = _model(max_iter=10, n_init=2, n_iter_no_change=None, callbacks=[stop])
    model.fit(X)
    assert model.n_iter_ == 2 and model.converged_
    assert stop.calls == {
        "train_begin": 2,
        "pretrain_epoch_end": 2 * FAST["pretrain_epochs"],
        "epoch_end": 4,
        "train_end": 2,
    }
    assert model.get_params()["callbacks"] == [stop]
    # what the built-in callbacks give is unchanged by a callback that watches
    plain = _model(max_iter=3).fit(X)
    watched = _model(max_iter=3, callbacks=[Callback()]).fit(X)
    np.testing.assert_array_equal(watched.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("bad", [Callback(), [print], "on_epoch_end"])
def test_callbacks_must_be_a_list_of_callbacks(bad):
    with pytest.raises((TypeError, ValueError), match="callbacks"):
        _model(callbacks=bad).fit(_blobs()[0])


@pytest.mark.parametrize("bad", [0, -2, 2.5, "10", True])
def test_grow_from_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="grow_from"):
        _model(grow_from=bad).fit(_blobs()[0])
