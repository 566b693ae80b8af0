"""Saving and loading a fitted model: pickle, joblib and skops, bit for bit,
continued fits after a round trip, and models saved by other versions."""

import dataclasses
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.datasets import make_blobs

import skgmvae
from skgmvae import GMVAEClustering
from skgmvae import _persist

sio = pytest.importorskip("skops.io")

FAST = dict(
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(32,),
    prior_hidden=16,
    max_iter=4,
    pretrain_epochs=5,
    kl_warmup=3,
    batch_size=64,
    n_score_samples=4,
    n_iter_no_change=None,
)

METHODS = ("predict", "predict_proba", "score_samples", "transform")


def _blobs(n=150, seed=0):
    X, _ = make_blobs(
        n_samples=n, centers=3, n_features=4, cluster_std=0.6, random_state=seed
    )
    return X


def _model(**kw):
    return GMVAEClustering(**{"n_components": 3, "random_state": 0, **FAST, **kw})


def _skops_round_trip(model):
    data = sio.dumps(model)
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def _joblib_round_trip(model, path):
    joblib.dump(model, path)
    return joblib.load(path)


def _round_trip(how, model, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(model))
    if how == "joblib":
        return _joblib_round_trip(model, tmp_path / "model.joblib")
    return _skops_round_trip(model)


ROUND_TRIPS = ("pickle", "joblib", "skops")


def _fit(graph_weight):
    """A model fitted with warm_start, and its training rows."""
    X = _blobs()
    return _model(graph_weight=graph_weight, warm_start=True).fit(X), X


@pytest.fixture(scope="module", params=[0.0, 1.0], ids=["plain", "graph"])
def graph_weight(request):
    """Without and with the neighbour term, whose graph is part of the run
    state."""
    return request.param


@pytest.fixture(scope="module")
def fitted(graph_weight):
    """A fitted model and its rows; shared, so tests must not change it."""
    return _fit(graph_weight)


def _not_plain(obj, where="state"):
    """Paths inside ``obj`` to every value that is not a plain Python value
    (dict, list, tuple, str, int, float, bool, None) or a numpy array or
    scalar."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _not_plain(v, f"{where}[{k!r}]")]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in _not_plain(v, f"{where}[{i}]")]
    if obj is None or isinstance(obj, (str, int, float, bool, np.ndarray, np.generic)):
        return []
    return [f"{where}: {type(obj).__module__}.{type(obj).__qualname__}"]


def test_saved_state_is_not_plain_and_numpy_arrays(fitted):
    model, _ = fitted
    state = model.__getstate__()
    assert _not_plain(state) == []
    assert state["_pickle_format"] == _persist.PICKLE_FORMAT
    assert "_net" not in state
    # the estimator itself keeps its networks and tensors
    assert isinstance(model._net, torch.nn.Module)
    assert isinstance(model._train_state.generator, torch.Tensor)


def test_skops_trusts_only_skgmvae_and_numpy_types(fitted):
    model, X = fitted
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert "skgmvae._estimator.GMVAEClustering" in untrusted
    leaked = [t for t in untrusted if not t.startswith(("skgmvae.", "numpy."))]
    assert leaked == []
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data, trusted=[])
    loaded = sio.loads(data, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_the_user_guide_recipe_trusts_one_type(fitted, tmp_path):
    """docs/user_guide/saving_and_loading.rst loads a file with this list."""
    model, X = fitted
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    trusted = ["skgmvae._estimator.GMVAEClustering"]
    assert sio.get_untrusted_types(file=path) == trusted
    loaded = sio.load(path, trusted=trusted)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


@pytest.mark.parametrize("how", ROUND_TRIPS)
def test_round_trip_predicts_bit_for_bit(fitted, how, tmp_path):
    model, X = fitted
    loaded = _round_trip(how, model, tmp_path)
    assert type(loaded) is GMVAEClustering
    assert loaded.get_params() == model.get_params()
    for method in METHODS:
        expected = getattr(model, method)(X)
        got = getattr(loaded, method)(X)
        assert got.dtype == expected.dtype, method
        np.testing.assert_array_equal(got, expected, err_msg=method)
    np.testing.assert_array_equal(loaded.labels_, model.labels_)
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.history_ == model.history_
    assert loaded.n_iter_ == model.n_iter_
    for got, expected in zip(loaded.sample(5), model.sample(5)):
        np.testing.assert_array_equal(got, expected)


def _tensors(obj):
    """Every tensor inside nested dicts, lists and tuples, in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=repr) for t in _tensors(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


@pytest.mark.parametrize("how", ROUND_TRIPS)
def test_round_trip_restores_the_run_state_exactly(fitted, how, tmp_path):
    model, _ = fitted
    before = model._train_state
    after = _round_trip(how, model, tmp_path)._train_state
    assert type(after) is type(before)
    for field in ("learning_rate", "n_components", "epoch", "best", "stall", "split_at"):
        assert getattr(after, field) == getattr(before, field), field
    assert after.generator.dtype == torch.uint8
    assert torch.equal(after.generator, before.generator)
    assert after.optimizer["param_groups"] == before.optimizer["param_groups"]
    assert after.optimizer["state"].keys() == before.optimizer["state"].keys()
    old, new = _tensors(before.optimizer), _tensors(after.optimizer)
    assert len(new) == len(old) > 0
    for a, b in zip(new, old):
        assert (a.dtype, a.shape, a.device.type) == (b.dtype, b.shape, "cpu")
        assert torch.equal(a, b.cpu())
    if before.graph is None:
        assert after.graph is None
    else:
        assert after.graph.checksum == before.graph.checksum
        for name in ("neighbors", "memory", "weights"):
            a, b = getattr(after.graph, name), getattr(before.graph, name)
            assert a.dtype == b.dtype and torch.equal(a, b.cpu())


def _continue(model, X, X_chunk):
    """A warm-started fit on ``X``, then a partial_fit on ``X_chunk``."""
    model.fit(X)
    model.partial_fit(X_chunk)
    return model


def _untimed(model):
    """The history without the epochs' durations."""
    return [{k: v for k, v in r.items() if k != "time"} for r in model.history_]


def _assert_same_model(a, b, X):
    for method in METHODS:
        np.testing.assert_array_equal(
            getattr(a, method)(X), getattr(b, method)(X), err_msg=method
        )
    assert _untimed(a) == _untimed(b)
    assert a.lower_bound_ == b.lower_bound_


@pytest.mark.parametrize("how", ROUND_TRIPS)
def test_continuing_after_a_round_trip_matches_continuing_the_original(
    graph_weight, how, tmp_path
):
    model, X = _fit(graph_weight)
    X_chunk = _blobs(60, seed=1)
    loaded = _round_trip(how, model, tmp_path)
    # the same fit, never saved (a deep copy would go through __getstate__)
    original, _ = _fit(graph_weight)
    _continue(original, X, X_chunk)
    _continue(loaded, X, X_chunk)
    assert loaded.n_iter_ == original.n_iter_ == model.n_iter_ + FAST["max_iter"] + 1
    _assert_same_model(loaded, original, X)
    # the continuation moved the model: the comparison is not between two
    # copies of the saved one
    assert not np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_continuing_a_loaded_model_matches_one_uninterrupted_fit():
    X = _blobs()
    once = _model(max_iter=6).fit(X)
    part = _model(max_iter=3, warm_start=True).fit(X)
    resumed = _skops_round_trip(part).fit(X)
    np.testing.assert_array_equal(resumed.predict_proba(X), once.predict_proba(X))
    np.testing.assert_array_equal(resumed.transform(X), once.transform(X))


def test_unfitted_model_round_trips():
    model = _model(n_components=5)
    for loaded in (pickle.loads(pickle.dumps(model)), _skops_round_trip(model)):
        assert loaded.get_params() == model.get_params()
        assert not hasattr(loaded, "_net")


def test_a_model_fitted_on_a_gpu_loads_without_one(fitted, monkeypatch):
    """The saved weights are CPU arrays whatever the device; a model whose
    device is a GPU predicts on a CPU-only machine."""
    model, X = fitted
    gpu_model = pickle.loads(pickle.dumps(model))
    gpu_model.device = "cuda"  # as if fitted on a GPU
    state = gpu_model.__getstate__()
    assert all(isinstance(v, np.ndarray) for v in state["_net_state"].values())
    blob = pickle.dumps(gpu_model)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(blob)
    np.testing.assert_allclose(
        loaded.predict_proba(X), model.predict_proba(X), rtol=1e-12
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("how", ROUND_TRIPS)
def test_cuda_fit_predicts_on_cpu_after_a_round_trip(how, tmp_path):
    X = _blobs()
    model = _model(device="cuda").fit(X)
    loaded = _round_trip(how, model, tmp_path)
    assert all(t.device.type == "cpu" for t in _tensors(loaded._train_state.optimizer))
    loaded.set_params(device="cpu")
    np.testing.assert_allclose(
        loaded.predict_proba(X), model.predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize("version", [1, 3, None, "5"])
def test_an_older_or_unknown_format_is_a_clear_error(fitted, version):
    model, _ = fitted
    state = model.__getstate__()
    state["_pickle_format"] = version
    fresh = GMVAEClustering.__new__(GMVAEClustering)
    with pytest.raises(
        ValueError, match=rf"pickle format {version!r}.*does not read.*refit"
    ):
        fresh.__setstate__(state)


def test_a_newer_format_asks_to_upgrade(fitted):
    model, _ = fitted
    state = model.__getstate__()
    assert state["_skgmvae_version"] == skgmvae.__version__
    state["_pickle_format"] = _persist.PICKLE_FORMAT + 1
    state["_skgmvae_version"] = "9.9.9"
    blob = pickle.dumps(state)
    fresh = GMVAEClustering.__new__(GMVAEClustering)
    with pytest.raises(
        ValueError,
        match=r"newer version of skgmvae \(skgmvae 9\.9\.9\).*Upgrade skgmvae",
    ):
        fresh.__setstate__(pickle.loads(blob))


def test_a_missing_format_number_is_a_clear_error(fitted):
    model, _ = fitted
    state = model.__getstate__()
    del state["_pickle_format"]
    with pytest.raises(ValueError, match="pickle format None"):
        GMVAEClustering.__new__(GMVAEClustering).__setstate__(state)


def test_skops_file_of_another_format_is_a_clear_error(fitted, monkeypatch):
    model, _ = fitted
    monkeypatch.setattr(_persist, "PICKLE_FORMAT", 99)
    data = sio.dumps(model)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="pickle format 99.*newer"):
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def _format_4_getstate(self):
    """``__getstate__`` as format 4 wrote it: the networks as a CPU state
    dict of tensors, the run state as a RunState holding CPU tensors."""

    def to_cpu(obj):
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.replace(
                obj,
                **{f.name: to_cpu(getattr(obj, f.name)) for f in dataclasses.fields(obj)},
            )
        if isinstance(obj, torch.Tensor):
            return obj.detach().cpu().clone()
        if isinstance(obj, dict):
            return {k: to_cpu(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(to_cpu(v) for v in obj)
        return obj

    state = dict(BaseEstimator.__getstate__(self))
    net = state.pop("_net")
    state["_net_state"] = to_cpu(dict(net.state_dict()))
    state["_train_state"] = to_cpu(state["_train_state"])
    state["_pickle_format"] = 4
    return state


def test_a_format_4_pickle_loads_and_continues(graph_weight, monkeypatch):
    model, X = _fit(graph_weight)
    with monkeypatch.context() as patch:
        patch.setattr(GMVAEClustering, "__getstate__", _format_4_getstate)
        blob = pickle.dumps(model)
    assert b"torch" in blob  # tensors, as format 4 stored them
    loaded = pickle.loads(blob)
    assert isinstance(loaded._net, torch.nn.Module)
    for method in METHODS:
        np.testing.assert_array_equal(
            getattr(loaded, method)(X), getattr(model, method)(X), err_msg=method
        )
    X_chunk = _blobs(60, seed=1)
    _continue(model, X, X_chunk)
    _continue(loaded, X, X_chunk)
    _assert_same_model(loaded, model, X)
    # and it is saved again in the current format, which skops reads
    assert loaded.__getstate__()["_pickle_format"] == _persist.PICKLE_FORMAT
    _assert_same_model(_skops_round_trip(loaded), model, X)


def test_attributes_of_a_newer_version_are_kept_and_ignored(graph_weight):
    """A model saved in this format by a later version that added attributes
    (to the estimator, or to the run state) loads, predicts and continues
    as the model without them."""
    model, X = _fit(graph_weight)
    state = model.__getstate__()
    state["added_in_a_later_version_"] = np.arange(3)
    state["_train_state"]["added_in_a_later_version"] = 1.5
    if state["_train_state"]["graph"] is not None:
        state["_train_state"]["graph"]["added"] = None
    loaded = GMVAEClustering.__new__(GMVAEClustering)
    loaded.__setstate__(pickle.loads(pickle.dumps(state)))
    np.testing.assert_array_equal(loaded.added_in_a_later_version_, np.arange(3))
    X_chunk = _blobs(60, seed=1)
    _continue(model, X, X_chunk)
    _continue(loaded, X, X_chunk)
    _assert_same_model(loaded, model, X)


def test_a_graph_saved_without_weights_loads_with_equal_shares():
    """States of format 5 written before the graph kept its edge weights
    (and whether it holds the start) load with ``weights=None`` (each
    neighbour's equal share), not held, and go on training."""
    model, X = _fit("auto")
    state = model.__getstate__()
    assert state["_train_state"]["graph"]["held"]  # separate blobs: held
    del state["_train_state"]["graph"]["weights"]
    del state["_train_state"]["graph"]["held"]
    del state["_train_state"]["graph"]["own"]
    loaded = GMVAEClustering.__new__(GMVAEClustering)
    loaded.__setstate__(pickle.loads(pickle.dumps(state)))
    assert loaded._train_state.graph.weights is None
    assert not loaded._train_state.graph.held and not loaded._train_state.graph.own
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.set_params(max_iter=2).fit(X)
    assert np.isfinite(loaded.lower_bound_)


def test_format_5_layout(fitted):
    """The layout that format 5 promises later versions. A change here needs
    a new format number (and a reader for format 5 kept in load)."""
    model, _ = fitted
    state = model.__getstate__()
    assert _persist.PICKLE_FORMAT == 5
    assert state["_net_state"].keys() == model._net.state_dict().keys()
    for name, array in state["_net_state"].items():
        assert array.dtype == np.float32, name
        assert array.shape == tuple(model._net.state_dict()[name].shape), name
    assert state["_scaling"].keys() == {"shift", "scale", "standardise"}
    run = state["_train_state"]
    assert run.keys() == {
        "learning_rate",
        "n_components",
        "epoch",
        "best",
        "stall",
        "split_at",
        "generator",
        "optimizer",
        "graph",
    }
    assert run["generator"].dtype == np.uint8 and run["generator"].ndim == 1
    assert run["optimizer"].keys() == {"state", "param_groups"}
    for moments in run["optimizer"]["state"].values():
        assert {"step", "exp_avg", "exp_avg_sq"} <= moments.keys()
    if run["graph"] is not None:
        # "weights", "held" and "own" were added within format 5: a reader
        # that does not know them drops them (equal shares, a memory that
        # follows the posteriors; an own-cluster graph, whose only neighbour
        # of a row is the row itself, reads as a graph like any other); a
        # state without them loads that way
        assert run["graph"].keys() == {
            "neighbors", "memory", "checksum", "weights", "held", "own"
        }
        assert isinstance(run["graph"]["held"], bool)
        assert isinstance(run["graph"]["own"], bool)
        assert run["graph"]["neighbors"].dtype == np.int32
        assert run["graph"]["weights"].shape == run["graph"]["neighbors"].shape


def test_a_model_saved_before_the_precision_parameter_loads_in_float32():
    """A state without ``precision`` (saved before it existed) loads with
    "float32", what such a model trained with, and keeps its predictions."""
    model, X = _fit(0.0)
    model.set_params(precision="auto")
    state = model.__getstate__()
    del state["precision"]
    loaded = GMVAEClustering.__new__(GMVAEClustering)
    loaded.__setstate__(pickle.loads(pickle.dumps(state)))
    assert loaded.get_params()["precision"] == "float32"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # a value that was saved is kept
    kept = GMVAEClustering.__new__(GMVAEClustering)
    kept.__setstate__(model.__getstate__())
    assert kept.precision == "auto"
