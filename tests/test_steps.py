"""The minibatch loop: each epoch's draws (per minibatch on the CPU, at once
on an accelerator) and the steps replayed from CUDA graphs on a CUDA
device. The CUDA tests need a CUDA device; the draws and the loop are
checked on the CPU."""

import copy
import warnings

import numpy as np
import pytest
import torch

from skgmvae import _steps
from skgmvae._model import GMVAENet, init_seed_state
from skgmvae._steps import epoch_draws, run_steps
from skgmvae._train import TrainingRows, elbo_epoch, make_optimizer, pretrain_epoch

CUDA = torch.cuda.is_available()
NO_CUDA = "needs a CUDA device (CUDA graphs); run on a machine with one"


def _net(device="cpu", likelihood="gaussian"):
    torch.manual_seed(0)
    return GMVAENet(
        n_features=6,
        n_components=3,
        latent_dim=2,
        noise_dim=2,
        hidden_layer_sizes=(16,),
        prior_hidden=8,
        likelihood=likelihood,
    ).to(device)


@pytest.mark.parametrize("at_once", [False, True])
def test_each_epoch_visits_every_row_once_with_noise_of_its_minibatch(at_once):
    draws = list(epoch_draws(103, 16, init_seed_state(0), "cpu", (2, 5), at_once))
    idx = torch.cat([i for i, _ in draws])
    assert sorted(idx.tolist()) == list(range(103))
    assert [len(i) for i, _ in draws] == [16] * 6 + [7]
    assert all(n.shape == (2, len(i), 5) for i, n in draws)
    again = list(epoch_draws(103, 16, init_seed_state(0), "cpu", (2, 5), at_once))
    for (i, n), (j, m) in zip(draws, again):
        assert torch.equal(i, j) and torch.equal(n, m)


def test_draws_per_minibatch_follow_the_order_then_each_minibatchs_noise():
    gen = init_seed_state(4)
    order = torch.randperm(40, generator=gen)
    first = torch.randn((1, 16, 3), generator=gen)
    second = torch.randn((1, 16, 3), generator=gen)
    draws = list(epoch_draws(40, 16, init_seed_state(4), "cpu", (1, 3), False))
    assert torch.equal(draws[0][0], order[:16]) and torch.equal(draws[0][1], first)
    assert torch.equal(draws[1][1], second)
    # at once: the whole epoch's noise after the order, sliced by minibatch
    gen = init_seed_state(4)
    order = torch.randperm(40, generator=gen)
    noise = torch.randn((1, 40, 3), generator=gen)
    draws = list(epoch_draws(40, 16, init_seed_state(4), "cpu", (1, 3), True))
    assert torch.equal(torch.cat([i for i, _ in draws]), order)
    assert torch.equal(torch.cat([n for _, n in draws], dim=1), noise)


def test_a_step_that_returns_false_ends_the_epoch():
    seen = []

    def step(idx, noise):
        seen.append(len(idx))
        return len(seen) < 3

    draws = epoch_draws(100, 10, init_seed_state(0), "cpu")
    assert run_steps(step, draws, 10, "cpu", None) is False
    assert seen == [10, 10, 10]
    seen.clear()
    draws = epoch_draws(25, 10, None, "cpu")
    assert run_steps(lambda i, n: seen.append(len(i)), draws, 10, "cpu", None)
    assert seen == [10, 10, 5]


def test_an_epoch_of_few_full_minibatches_is_not_captured():
    # a capture costs about two steps: with three full minibatches (the one
    # captured on and two replays) the steps run as written, here on the
    # CPU, where a capture would fail
    seen = []
    draws = epoch_draws(35, 10, init_seed_state(0), "cpu")
    assert run_steps(lambda i, n: seen.append(len(i)), draws, 10, "cpu", None, True)
    assert seen == [10, 10, 10, 5]
    assert _steps.MIN_REPLAYS >= 3  # what the three full minibatches above rely on


def _rows(n=300, device="cpu"):
    X = np.random.default_rng(0).normal(size=(n, 6))
    return TrainingRows(X, X.mean(0), X.std(0), device)


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
@pytest.mark.parametrize("phase", ["pretrain", "elbo"])
def test_graphed_steps_train_as_the_steps_run_one_kernel_at_a_time(monkeypatch, phase):
    X = _rows(device="cuda")
    nets, results, replays = [], [], []
    replay = _steps.StepGraph.replay

    def counted(graph, idx, noise):
        replays.append(len(idx))
        replay(graph, idx, noise)

    monkeypatch.setattr(_steps.StepGraph, "replay", counted)
    for graphs in (False, True):
        monkeypatch.setattr(_steps, "CUDA_GRAPHS", graphs)
        net = _net("cuda")
        optimizer = make_optimizer(net, 1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a failed capture warns
            for _ in range(2):
                if phase == "pretrain":
                    out = pretrain_epoch(net, optimizer, X, 32, init_seed_state(1))
                else:
                    out = elbo_epoch(
                        net, optimizer, X, 32, init_seed_state(1), 1, 0.5, 0.5
                    )
        nets.append(net)
        results.append(out)
        # 300 rows: 9 full minibatches of 32, one captured on, 8 replayed
        assert len(replays) == (16 if graphs else 0)
    assert results[0] == pytest.approx(results[1], rel=1e-4)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    pairs = zip(_net("cuda").parameters(), nets[1].parameters())
    moved = sum(float((a - b).detach().abs().sum()) for a, b in pairs)
    assert moved > 0.0  # the epochs trained


@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_a_cuda_fit_is_reproducible_and_captures_its_steps():
    from sklearn.datasets import load_digits

    from skgmvae import GMVAEClustering

    X = load_digits().data[:600]
    fits = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.filterwarnings("error", message=".*CUDA graph.*")
            model = GMVAEClustering(
                5, max_iter=4, pretrain_epochs=3, device="cuda", random_state=0
            ).fit(X)
        fits.append(model.labels_)
    assert np.array_equal(fits[0], fits[1])
    assert len(np.unique(fits[0])) > 1


def _fused_cpu_adam_available():
    """Whether the package's optimiser takes torch's fused Adam here."""
    return bool(make_optimizer(torch.nn.Linear(1, 1), 1e-3).defaults.get("fused"))


NO_FUSED = "this torch has no fused Adam on the CPU; the lean step then never runs"


def _train_both(ours, theirs, nets, steps, only=None, seed=0):
    """``steps`` identical updates of two copies of a network, each by its
    optimiser; with ``only="reconstruction"`` the loss is that term alone
    (the prior network gets no gradient), else it adds the z-prior term."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        y = torch.randn(8, 6, generator=gen)
        noise = torch.randn(1, 8, 4, generator=gen)
        for net, opt in zip(nets, (ours, theirs)):
            opt.zero_grad(set_to_none=True)
            terms = net.elbo_terms(y, noise)
            loss = -terms["reconstruction"].mean()
            if only is None:
                loss = loss + terms["z_prior"].mean()
            loss.backward()
            opt.step()


def _same_bits(net_a, net_b):
    return all(
        torch.equal(a, b) for a, b in zip(net_a.state_dict().values(), net_b.state_dict().values())
    )


@pytest.mark.skipif(not _fused_cpu_adam_available(), reason=NO_FUSED)
def test_lean_adam_updates_as_torchs_fused_adam_bit_for_bit():
    nets = (_net(), _net())
    ours = _steps.Adam(nets[0].parameters(), lr=3e-3, fused=True)
    theirs = torch.optim.Adam(nets[1].parameters(), lr=3e-3, fused=True)
    # first the reconstruction alone (the prior gets no gradient), then all
    _train_both(ours, theirs, nets, 5, only="reconstruction")
    assert ours._lean_plan() is not None
    assert all(
        ours.state[p]["step"]._base is ours._counters for p in nets[0].parameters()
        if p in ours.state
    )
    _train_both(ours, theirs, nets, 7, seed=1)
    assert _same_bits(*nets)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(ours.state[p][key], theirs.state[q][key])
    # a copy of torch's optimiser's state, loaded, continues the same way
    # (a copy: loading takes over the tensors of the dict where it can)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
    _train_both(ours, theirs, nets, 4, seed=2)
    assert _same_bits(*nets)
    assert ours.state[next(nets[0].parameters())]["step"].item() == 16


@pytest.mark.skipif(not _fused_cpu_adam_available(), reason=NO_FUSED)
def test_lean_adam_leaves_other_options_to_torch():
    nets = (_net(), _net())
    ours = _steps.Adam(nets[0].parameters(), lr=1e-2, weight_decay=0.1, fused=True)
    theirs = torch.optim.Adam(nets[1].parameters(), lr=1e-2, weight_decay=0.1, fused=True)
    _train_both(ours, theirs, nets, 4)
    assert ours._lean_plan() is None
    assert _same_bits(*nets)
    # a closure too goes through torch's step
    plain = _steps.Adam(nets[0].parameters(), lr=1e-2, fused=True)
    _train_both(plain, theirs, nets, 2)
    assert plain.step(lambda: torch.tensor(1.5)).item() == 1.5


def test_lean_adam_zeroes_gradients_in_place_on_request():
    net = _net()
    opt = make_optimizer(net, 1e-3)
    assert isinstance(opt, _steps.Adam)
    for p in net.parameters():
        p.grad = torch.ones_like(p)
    grads = [p.grad for p in net.parameters()]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(net.parameters(), grads))
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_a_snapshot_restores_the_same_optimiser_state_every_time():
    from skgmvae._train import restore_snapshot, take_snapshot

    nets = (_net(), _net())
    opt, other = make_optimizer(nets[0], 1e-2), make_optimizer(nets[1], 1e-2)
    _train_both(opt, other, nets, 3)
    snapshot = take_snapshot(nets[0], opt)
    first = None
    for _ in range(3):  # as a diverging epoch retried from one snapshot
        restore_snapshot(nets[0], opt, snapshot)
        _train_both(opt, other, nets, 2, seed=5)
        after = [p.detach().clone() for p in nets[0].parameters()]
        if first is None:
            first = after
        assert all(torch.equal(a, b) for a, b in zip(after, first))
    assert all(s["step"].item() == 3 for s in snapshot[1]["state"].values())


def test_step_hooks_run_once_a_step_on_either_path():
    # a torch Adam made first wraps torch's own step with the hooks too
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    calls = []
    nets = (_net(), _net())
    ours = make_optimizer(nets[0], 1e-3)
    ours.register_step_pre_hook(lambda *args: calls.append("pre"))
    ours.register_step_post_hook(lambda *args: calls.append("post"))
    _train_both(ours, make_optimizer(nets[1], 1e-3), nets, 3)  # torch's path first
    assert calls == ["pre", "post"] * 3


@pytest.mark.skipif(not _fused_cpu_adam_available(), reason=NO_FUSED)
def test_lean_adam_leaves_a_grad_scalers_steps_to_torch():
    nets = (_net(), _net())
    opts = (_steps.Adam(nets[0].parameters(), lr=1e-2, fused=True),
            torch.optim.Adam(nets[1].parameters(), lr=1e-2, fused=True))
    gen = torch.Generator().manual_seed(0)
    for step in range(4):
        y, noise = torch.randn(8, 6, generator=gen), torch.randn(1, 8, 4, generator=gen)
        for net, opt in zip(nets, opts):
            scaler = opt.scaler = getattr(opt, "scaler", None) or torch.amp.GradScaler("cpu")
            opt.zero_grad()
            scaler.scale(-net.elbo_terms(y, noise)["reconstruction"].mean()).backward()
            if step == 2:  # an overflow: the scaler skips this step
                next(net.parameters()).grad.view(-1)[0] = float("inf")
            scaler.step(opt)
            scaler.update()
    assert _same_bits(*nets)
    assert all(torch.isfinite(p).all() for p in nets[0].parameters())
