"""Mixed-precision training (``precision``): which dtype the products take,
that the bound's inputs stay float32, and that a bfloat16 fit trains,
repeats itself and leaves a float32 model."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from skgmvae import GMVAEClustering, _fitting
from skgmvae._fitting import MIXED_PRECISION_MIN_ROWS
from skgmvae._model import GMVAENet
from skgmvae._utils import (
    autocast_enabled,
    mixed_precision,
    native_bfloat16_cpu,
    training_dtype,
)
from skgmvae.metrics import clustering_accuracy


def _net(likelihood="gaussian"):
    torch.manual_seed(0)
    return GMVAENet(
        n_features=12,
        n_components=3,
        latent_dim=2,
        noise_dim=2,
        hidden_layer_sizes=(32, 16),
        prior_hidden=8,
        likelihood=likelihood,
    )


def test_training_dtype_follows_the_parameter_and_the_device():
    assert training_dtype("float32", "cpu") is None
    assert training_dtype("bfloat16", "cpu") is torch.bfloat16
    assert training_dtype("bfloat16", "cuda") is torch.bfloat16
    # "auto" never lowers the precision on an accelerator ...
    assert training_dtype("auto", "cuda") is None
    assert training_dtype("auto", "mps") is None
    # ... and on the CPU only where the products run in hardware
    expected = torch.bfloat16 if native_bfloat16_cpu() else None
    assert training_dtype("auto", "cpu") is expected


def test_auto_keeps_float32_on_small_data():
    small, large = MIXED_PRECISION_MIN_ROWS, MIXED_PRECISION_MIN_ROWS + 1
    auto = GMVAEClustering(precision="auto")
    assert _fitting.precision(auto, small) == "float32"
    assert _fitting.precision(auto, large) == "auto"
    # an explicit value holds whatever the size
    for value in ("float32", "bfloat16"):
        est = GMVAEClustering(precision=value)
        assert _fitting.precision(est, small) == _fitting.precision(est, large) == value


def test_mixed_precision_is_a_no_op_for_float32():
    with mixed_precision("cpu", None):
        assert not autocast_enabled("cpu")
    with mixed_precision("cpu", torch.bfloat16):
        assert autocast_enabled("cpu")
    assert not autocast_enabled("cpu")


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_the_bound_reads_float32_outputs_and_the_latent_heads_are_exact(likelihood):
    net = _net(likelihood)
    y = torch.rand(64, 12)
    noise = torch.randn(1, 64, 4)
    with mixed_precision("cpu", torch.bfloat16):
        p = net(y, noise)
        w = torch.randn(64, 2)
        prior_low = net.prior(w)
    assert all(t.dtype == torch.float32 for t in p.enc)
    assert p.decoded[0].dtype == torch.float32
    assert p.prior_mean.dtype == p.prior_logvar.dtype == torch.float32
    # the prior network runs in float32 inside autocast: bit for bit
    prior_full = net.prior(w)
    assert torch.equal(prior_low[0], prior_full[0])
    assert torch.equal(prior_low[1], prior_full[1])
    # the trunks run in bfloat16: close to, but not, the float32 pass
    full = net(y, noise)
    assert not torch.equal(p.decoded[0], full.decoded[0])
    assert torch.allclose(p.decoded[0], full.decoded[0], atol=0.1, rtol=0.05)
    assert torch.allclose(p.enc[0], full.enc[0], atol=0.1, rtol=0.05)


def test_the_gradients_reach_every_parameter_as_float32():
    net = _net()
    y = torch.rand(64, 12)
    with mixed_precision("cpu", torch.bfloat16):
        terms = net.elbo_terms(y, torch.randn(1, 64, 4))
    loss = -terms["elbo"].mean()
    loss.backward()
    for name, param in net.named_parameters():
        if name == "decoder_raw_var" or param.grad is None:
            continue
        assert param.dtype == param.grad.dtype == torch.float32, name
        assert torch.isfinite(param.grad).all(), name


def test_a_bfloat16_fit_finds_the_clusters_and_repeats_itself():
    X, y = make_blobs(300, n_features=8, centers=3, random_state=0)
    params = dict(max_iter=5, pretrain_epochs=5, random_state=0)
    a = GMVAEClustering(3, precision="bfloat16", **params).fit(X)
    b = GMVAEClustering(3, precision="bfloat16", **params).fit(X)
    full = GMVAEClustering(3, precision="float32", **params).fit(X)
    assert clustering_accuracy(y, a.labels_) == 1.0
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.lower_bound_ == b.lower_bound_
    # the model it leaves is float32, and it differs from the float32 fit
    assert all(p.dtype == torch.float32 for p in a._net.parameters())
    assert a.lower_bound_ != full.lower_bound_
    assert np.isfinite(a.score(X))


def test_a_bfloat16_fit_computes_its_bound_in_bfloat16():
    # lower_bound_ (which chooses among n_init runs) takes the training's
    # precision: close to the float32 bound of the same networks, not equal
    from skgmvae._inference import elbo_rows

    X, _ = make_blobs(300, n_features=8, centers=3, random_state=0)
    model = GMVAEClustering(
        3, precision="bfloat16", max_iter=3, pretrain_epochs=3, random_state=0
    ).fit(X)
    Xt = model._scaling.training_rows(X, "cpu")
    full = elbo_rows(model._net, Xt, model._scaling, model._eval_seed, 16).mean()
    assert model.lower_bound_ != full
    assert model.lower_bound_ == pytest.approx(full, rel=2e-2)


def test_an_unknown_precision_is_refused():
    X, _ = make_blobs(60, n_features=3, centers=2, random_state=0)
    with pytest.raises(ValueError, match="precision"):
        GMVAEClustering(2, precision="float16", max_iter=1).fit(X)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_a_float64_network_stays_float64_outside_autocast(likelihood):
    # inference runs a float64 copy of the networks: nothing may round it
    net = _net(likelihood).double()
    y = torch.rand(8, 12, dtype=torch.float64)
    p = net(y, torch.randn(1, 8, 4, dtype=torch.float64))
    assert p.decoded[0].dtype == torch.float64
    assert all(t.dtype == torch.float64 for t in p.enc)
    assert p.prior_mean.dtype == torch.float64
