"""The ELBO epoch: checked step by step on the CPU, or as a whole epoch (as
on an accelerator, which must not wait for the host at every step)."""

import math

import torch

from skgmvae._model import GMVAENet, init_seed_state
from skgmvae._train import elbo_epoch, make_optimizer


def _net():
    torch.manual_seed(0)
    return GMVAENet(
        n_features=5,
        n_components=3,
        latent_dim=2,
        noise_dim=2,
        hidden_layer_sizes=(8,),
        prior_hidden=8,
        likelihood="gaussian",
    )


def _epoch(net, X, check_each_step):
    optimizer = make_optimizer(net, 1e-3)
    return elbo_epoch(
        net, optimizer, X, 16, init_seed_state(3), 1, 1.0, 0.5,
        check_each_step=check_each_step,
    )


def test_checking_once_an_epoch_gives_the_same_epoch_bit_for_bit():
    X = torch.randn(100, 5, generator=torch.Generator().manual_seed(1))
    a, b = _net(), _net()
    every_step = _epoch(a, X, True)
    once = _epoch(b, X, False)
    assert every_step == once
    assert all(math.isfinite(v) for v in once.values())
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_a_non_finite_row_shows_in_the_epoch_either_way():
    X = torch.randn(100, 5, generator=torch.Generator().manual_seed(1))
    X[57, 2] = float("nan")
    net = _net()
    checked = _epoch(net, X, True)
    assert all(math.isnan(v) for v in checked.values())
    # checked step by step, the bad step never reached the parameters ...
    assert all(torch.isfinite(p).all() for p in net.parameters())
    # ... once an epoch, it did, and the epoch's sums say so (the caller
    # undoes the whole epoch)
    net = _net()
    unchecked = _epoch(net, X, False)
    assert math.isnan(unchecked["elbo"])
    assert not all(torch.isfinite(p).all() for p in net.parameters())
