"""A fit whose ELBO falls after its best epoch goes back to that epoch
(``_callbacks.BestBound``)."""

import numpy as np
import torch
from sklearn.datasets import make_blobs

from skgmvae import Callback, GMVAEClustering, _fitting, _train
from skgmvae._callbacks import BestBound

FAST = dict(
    n_components=3,
    latent_dim=3,
    noise_dim=2,
    hidden_layer_sizes=(32,),
    prior_hidden=16,
    pretrain_epochs=10,
    kl_warmup=2,
    random_state=0,
    n_iter_no_change=None,
)


def _blobs():
    return make_blobs(n_samples=150, centers=3, n_features=4, cluster_std=0.6, random_state=0)[0]


class Spoil(Callback):
    """Keeps each epoch's parameters and ELBO; after epoch ``at`` adds large
    noise to every parameter of the networks, so that the bound falls."""

    def __init__(self, at):
        self.at = at
        self.params, self.elbos = {}, {}

    def on_epoch_end(self, trainer, record):
        epoch = record["epoch"]
        self.params[epoch] = [p.detach().clone() for p in trainer.net.parameters()]
        self.elbos[epoch] = record["elbo"]
        if epoch == self.at:
            generator = torch.Generator().manual_seed(0)
            with torch.no_grad():
                for p in trainer.net.parameters():
                    p.add_(torch.randn(p.shape, generator=generator) * 3.0)


class Memory(Callback):
    """Keeps the neighbour term's memory at the end of every epoch and at
    the return."""

    def __init__(self):
        self.at_epoch, self.at_return = {}, None

    def on_epoch_end(self, trainer, record):
        self.at_epoch[record["epoch"]] = trainer.state.graph.memory.clone()

    def on_return_to_best(self, trainer, record):
        self.at_return = trainer.state.graph.memory.clone()


def _net_parameters(model):
    return [p.detach() for p in model._net.parameters()]


def test_a_fit_whose_bound_falls_goes_back_to_its_best_epoch(capsys):
    X = _blobs()
    spoil, memory = Spoil(at=5), Memory()
    params = dict(FAST, graph_weight=1.0)  # not held: the memory follows the posteriors
    model = GMVAEClustering(max_iter=8, callbacks=[spoil, memory], verbose=1, **params).fit(X)
    best = max((e for e in spoil.elbos if e >= FAST["kl_warmup"]), key=spoil.elbos.get)
    assert best <= 5 and spoil.elbos[8] < spoil.elbos[best]
    for got, want in zip(_net_parameters(model), spoil.params[best]):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    record = model.history_[-1]
    assert record["phase"] == "best" and record["epoch"] == best
    assert record["elbo"] == spoil.elbos[best] and record["last_elbo"] == spoil.elbos[8]
    assert model.n_iter_ == 8  # the epochs run, as before
    assert f"back to epoch {best}, the best ELBO" in capsys.readouterr().out
    # the neighbour term's memory goes back with the parameters
    torch.testing.assert_close(memory.at_return, memory.at_epoch[best], rtol=0, atol=0)
    assert not torch.equal(memory.at_epoch[8], memory.at_epoch[best])


def test_it_never_goes_back_to_a_warm_up_epoch_or_an_earlier_call():
    """Epochs at partial KL weight are not candidates, nor are the epochs of
    an earlier call of a continued fit."""
    X = _blobs()
    # spoiled after the warm-up's first epoch, whose bound (KL weight 1/3)
    # is the highest: the fit does not end with that epoch's parameters
    spoil = Spoil(at=1)
    model = GMVAEClustering(max_iter=5, callbacks=[spoil], **{**FAST, "kl_warmup": 3}).fit(X)
    assert spoil.elbos[1] > max(spoil.elbos[e] for e in (3, 4, 5))
    assert all(r["epoch"] >= 3 for r in model.history_ if r["phase"] == "best")
    assert not all(
        torch.equal(got, was) for got, was in zip(_net_parameters(model), spoil.params[1])
    )
    # a continued call spoiled after its first epoch goes back to that epoch
    spoil = Spoil(at=7)
    model = GMVAEClustering(max_iter=6, warm_start=True, callbacks=[spoil], **FAST).fit(X)
    model.set_params(max_iter=3).fit(X)
    assert [r["epoch"] for r in model.history_ if r["phase"] == "best"] == [7]
    for got, want in zip(_net_parameters(model), spoil.params[7]):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_a_small_fall_within_tol_is_kept():
    """The last epoch stays where it is no more than ``tol`` (relative)
    below the best."""

    class Trainer:
        kl_weight = 1.0
        latent_graph_from = None

        class state:
            split_at = None
            graph = None

        net = torch.nn.Linear(2, 2)
        optimizer = torch.optim.Adam(net.parameters())
        notified = []

        def notify(self, hook, **kwargs):
            self.notified.append(hook)

    trainer = Trainer()
    keeper = BestBound(tol=1e-2)
    keeper.on_elbo_begin(trainer)
    for epoch, elbo in enumerate([-10.0, -9.0, -9.05], start=1):
        keeper.on_epoch_end(trainer, {"epoch": epoch, "elbo": elbo})
    keeper.on_elbo_end(trainer)  # 0.05 below -9.0 is within 1% of it
    assert trainer.notified == []
    keeper.on_epoch_end(trainer, {"epoch": 4, "elbo": -9.2})
    keeper.on_elbo_end(trainer)
    assert trainer.notified == ["on_return_to_best"]
    np.testing.assert_equal(keeper.kept, None)


def test_on_large_data_the_last_epochs_start_from_the_best(monkeypatch):
    """Above ``NEIGHBOUR_MAX_ROWS`` (lowered here) the return comes before
    the last epochs on the trained model's graph, which then run from the
    best epoch."""
    monkeypatch.setattr(_fitting, "NEIGHBOUR_MAX_ROWS", 100)
    monkeypatch.setattr(_train, "LATENT_GRAPH_ANCHORS", 100)
    X = _blobs()
    spoil = Spoil(at=4)
    model = GMVAEClustering(max_iter=8, callbacks=[spoil], **FAST).fit(X)
    phases = [(r["phase"], r["epoch"]) for r in model.history_ if r["phase"] != "pretrain"]
    best = next(epoch for phase, epoch in phases if phase == "best")
    # the return follows epoch 5, the last before the three on the trained graph
    assert phases.index(("best", best)) == phases.index(("elbo", 5)) + 1
    assert [epoch for phase, epoch in phases if phase == "elbo"] == list(range(1, 9))
    assert best <= 4 and model.n_iter_ == 8
