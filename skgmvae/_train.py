"""The optimisation loop: minibatches, autoencoder pretraining, mixture
initialisation, KL warm-up, the minimum information constraint, early stopping,
history and progress output."""

import copy
import math
import sys
import time
import warnings

import numpy as np
import torch

from . import _elbo
from ._init import initial_components, split_components
from ._model import standard_normal

TERMS = ("reconstruction", "conditional_prior", "w_prior", "z_prior")


def iter_batches(n_rows, batch_size, generator=None):
    """Yield index tensors covering ``range(n_rows)`` in batches.

    Shuffled with ``generator`` when one is given, in order otherwise.
    """
    if generator is None:
        order = torch.arange(n_rows)
    else:
        order = torch.randperm(n_rows, generator=generator)
    for start in range(0, n_rows, batch_size):
        yield order[start : start + batch_size]


class TrainingRows:
    """The training set as the optimisation loop reads it.

    ``rows[idx]`` is a float32 batch, standardised with ``shift`` and
    ``scale`` when they are given, on the training device. On the CPU the
    rows stay in the caller's array, which is not copied (read-only and
    memory-mapped arrays included): each batch is gathered and scaled when
    it is drawn, so fitting needs no second copy of the data. On an
    accelerator the scaled rows are copied to device memory once, in blocks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64
    shift, scale : ndarray of shape (n_features,) or None
    device : torch.device
    """

    #: Rows converted at a time when copying to an accelerator.
    COPY_BLOCK = 65536

    def __init__(self, X, shift, scale, device):
        self.shape = tuple(X.shape)
        self.device = torch.device(device)
        self._shift = self._scale = None
        if self.device.type == "cpu":
            with warnings.catch_warnings():
                # the array is only read from, never written
                warnings.filterwarnings("ignore", message=".*not writable.*")
                self._rows = torch.from_numpy(np.asarray(X))
            if shift is not None:
                # scaled in float64, so that values beyond float32's range
                # (1e300 in float64 input) become ordinary numbers first
                self._shift = torch.as_tensor(shift, dtype=torch.float64)
                self._scale = torch.as_tensor(scale, dtype=torch.float64)
            return
        plain = TrainingRows(X, shift, scale, "cpu")
        self._rows = torch.empty(self.shape, dtype=torch.float32, device=self.device)
        for idx in iter_batches(self.shape[0], self.COPY_BLOCK):
            self._rows[idx.to(self.device)] = plain[idx].to(self.device)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        y = self._rows[idx]
        if self._shift is not None:
            y = (y.to(torch.float64) - self._shift) / self._scale
        return y.to(torch.float32)


def forward_terms(net, y, n_samples, generator):
    """The ELBO terms of :meth:`GMVAENet.elbo_terms` for a batch, with
    ``n_samples`` draws of (x, w) per row from ``generator``."""
    shape = (n_samples, y.shape[0], net.latent_dim + net.noise_dim)
    noise = standard_normal(shape, generator, y.device, y.dtype)
    return net.elbo_terms(y, noise)


def format_seconds(seconds):
    """A duration for progress lines: ``"4.2s"``, ``"3m07s"`` or ``"2h05m"``."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class _Progress:
    """Progress output of one training run.

    ``verbose=0`` prints nothing. ``verbose=1`` prints one line per ELBO
    epoch (epoch, ELBO and its four terms, elapsed time, time left at most)
    and one line summing up pretraining, with an interim line at most every
    ``PRETRAIN_EVERY`` seconds while a long pretraining runs. ``verbose>=2``
    also prints every pretraining epoch.
    """

    #: Seconds between interim pretraining lines at verbose=1.
    PRETRAIN_EVERY = 10.0

    def __init__(self, verbose, stream=None):
        self.verbose = verbose
        self.stream = stream
        self.start = time.perf_counter()
        self.phase_start = self.last_line = self.start
        self.first = self.last = 0

    def _print(self, text):
        # sys.stdout is looked up at print time, so redirections apply
        print(text, file=self.stream or sys.stdout, flush=True)
        self.last_line = time.perf_counter()

    def begin(self, first, last):
        """A phase running epochs ``first`` to ``last`` (at most) begins."""
        self.phase_start = time.perf_counter()
        self.first, self.last = first, last

    def _timing(self, epoch):
        now = time.perf_counter()
        per_epoch = (now - self.phase_start) / max(epoch - self.first + 1, 1)
        left = per_epoch * max(self.last - epoch, 0)
        return (
            f"{format_seconds(now - self.start)} elapsed, ~{format_seconds(left)} left"
        )

    def _counter(self, epoch):
        return f"epoch {epoch:>{len(str(self.last))}d}/{self.last}"

    def epoch(self, phase, epoch, record):
        """Report a finished epoch (``record`` as stored in the history)."""
        if not self.verbose:
            return
        if phase == "pretrain":
            due = time.perf_counter() - self.last_line >= self.PRETRAIN_EVERY
            if self.verbose >= 2 or (due and epoch < self.last):
                self._print(
                    f"[pretrain] {self._counter(epoch)} | reconstruction "
                    f"{record['reconstruction']:.4g} | {self._timing(epoch)}"
                )
            return
        warmup = ""
        if record["kl_weight"] < 1.0:
            warmup = f" | KL weight {record['kl_weight']:.2f}"
        self._print(
            f"[elbo] {self._counter(epoch)} | ELBO {record['elbo']:.4g}"
            f" = recon {record['reconstruction']:.4g}"
            f" - cond {record['conditional_prior']:.4g}"
            f" - w {record['w_prior']:.4g} - z {record['z_prior']:.4g}"
            f"{warmup} | {self._timing(epoch)}"
        )

    def pretrain_done(self, records):
        """One line summing up the pretraining epochs ``records``."""
        if not self.verbose or not records:
            return
        seconds = time.perf_counter() - self.phase_start
        self._print(
            f"[pretrain] {len(records)} autoencoder epochs in "
            f"{format_seconds(seconds)}, reconstruction "
            f"{records[0]['reconstruction']:.4g} -> "
            f"{records[-1]['reconstruction']:.4g}; mixture initialised on the "
            "embedding"
        )

    def rollback(self, record):
        """Report an epoch undone because the loss became non-finite."""
        if self.verbose:
            self._print(
                f"[elbo] epoch {record['epoch']}: the loss became non-finite; "
                "epoch undone, retrying with learning_rate "
                f"{record['learning_rate']:.3g}"
            )

    def grown(self, epoch, n_components):
        """Report that the mixture was split after ``epoch``."""
        if self.verbose:
            self._print(
                f"[elbo] after epoch {epoch}: components split to {n_components}"
            )

    def converged(self, epoch, patience):
        """Report that early stopping ended the run at ``epoch``."""
        if self.verbose:
            self._print(
                f"[elbo] converged at epoch {epoch}: no ELBO gain above tol in "
                f"the last {patience} epochs"
            )


def make_optimizer(net, learning_rate):
    """Adam over the network's parameters, fused into one kernel where the
    installed torch supports it on the parameters' device."""
    try:
        return torch.optim.Adam(net.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(net.parameters(), lr=learning_rate)


def autoencoder_loss(net, y):
    """Per-row loss of deterministic autoencoding (x = mean of q(x|y)):
    squared error for the Gaussian likelihood, cross-entropy for Bernoulli."""
    loc = net.decode(net.encode(y)[0])[0]
    if net.likelihood == "bernoulli":
        return -_elbo.bernoulli_log_prob(y, loc)
    return (loc - y).pow(2).sum(-1)


def pretrain_epoch(net, optimizer, X, batch_size, generator):
    """One epoch of deterministic autoencoding. Returns the mean loss."""
    net.train()
    total = 0.0
    for idx in iter_batches(X.shape[0], batch_size, generator):
        y = X[idx.to(X.device)]
        recon = autoencoder_loss(net, y)
        loss = recon.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(recon.detach().sum())
    return total / X.shape[0]


def elbo_epoch(
    net,
    optimizer,
    X,
    batch_size,
    generator,
    n_mc_samples,
    kl_weight,
    min_information,
):
    """One epoch of ELBO ascent. Returns the mean of each term and the ELBO
    over the epoch's minibatches (the true bound, without warm-up or λ)."""
    net.train()
    sums = dict.fromkeys(TERMS + ("elbo",), 0.0)
    for idx in iter_batches(X.shape[0], batch_size, generator):
        y = X[idx.to(X.device)]
        terms = forward_terms(net, y, n_mc_samples, generator)
        loss = _elbo.training_loss(terms, kl_weight, min_information)
        if not torch.isfinite(loss):
            # stop before the bad step reaches the parameters
            return dict.fromkeys(sums, math.nan)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for key in sums:
                sums[key] += float(terms[key].sum())
    return {key: value / X.shape[0] for key, value in sums.items()}


#: Times an epoch that diverged is retried from the last good state, each
#: time with a step size ten times smaller, before fit gives up.
MAX_DIVERGENCE_RETRIES = 3


def decayed_learning_rate(base, step, n_steps, decay):
    """Step size of ELBO epoch ``step`` (1 to ``n_steps``) of one call to fit.

    ``base`` for the first ``n_steps - m`` epochs, where ``m = round(decay *
    n_steps)``, then falling linearly: epoch ``n_steps - m + i`` takes
    ``base * (m + 1 - i) / (m + 1)``, so the last one takes ``base / (m + 1)``.
    """
    n_decay = round(decay * n_steps)
    flat = n_steps - n_decay
    if step <= flat:
        return base
    return base * (n_steps - step + 1) / (n_decay + 1)


def _snapshot(net, optimizer):
    return (
        {k: v.detach().clone() for k, v in net.state_dict().items()},
        copy.deepcopy(optimizer.state_dict()),
    )


def _restore(net, optimizer, snapshot):
    """Back to ``snapshot``; the ELBO loop sets the step size of the next epoch."""
    net.load_state_dict(snapshot[0])
    optimizer.load_state_dict(snapshot[1])


@torch.no_grad()
def encode_means(net, X, batch_size):
    """Posterior mean of x for every row of ``X`` (eval mode)."""
    net.eval()
    out = torch.empty((X.shape[0], net.latent_dim), device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        out[idx] = net.encode(X[idx])[0]
    return out


def init_from_autoencoder(net, X, batch_size, seed, init="consensus"):
    """Prepare the pretrained autoencoder for the ELBO phase.

    The prior's components start at the clusters of the posterior means of
    ``X`` (see :func:`skgmvae._init.initial_components`, which ``init``
    chooses); q(x|y)
    starts with a variance small next to the spread of the embedding, so
    the first sampled epochs keep what pretraining learned; the decoder's
    variances start at the per-feature residual variance.
    """
    embedding = encode_means(net, X, batch_size)
    if not torch.isfinite(embedding).all():
        raise FloatingPointError("the embedding became non-finite during pretraining")
    with torch.no_grad():
        net.eval()
        residual = torch.zeros(X.shape[1], device=X.device)
        for idx in iter_batches(X.shape[0], batch_size):
            y = X[idx.to(X.device)]
            residual += (net.decode(embedding[idx.to(X.device)])[0] - y).pow(2).sum(0)
        net.set_decoder_variance(torch.clamp(residual / X.shape[0], min=1e-3).cpu())
        spread = embedding.var(0) if X.shape[0] > 1 else torch.ones(net.latent_dim)
        net.set_posterior_variance(torch.clamp(0.01 * spread, min=1e-3).cpu())
    means, variances = initial_components(
        embedding.double().cpu().numpy(), net.n_components, seed, init
    )
    net.set_prior_components(
        torch.as_tensor(means, dtype=torch.float32),
        torch.as_tensor(variances, dtype=torch.float32),
    )


@torch.no_grad()
def posterior_components(net, X, batch_size):
    """Posterior mean of x, most probable component, and that component's
    mean at the posterior mean of w, for every row of ``X`` (eval mode; the
    most probable component is the one whose prior, at the posterior mean
    of w, is densest at the posterior mean of x, as ``predict`` decides)."""
    net.eval()
    means = torch.empty((X.shape[0], net.latent_dim), device=X.device)
    anchors = torch.empty_like(means)
    labels = torch.empty(X.shape[0], dtype=torch.long, device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        means[idx], logits, prior_mean = net.component_logits(X[idx])
        labels[idx] = logits.argmax(-1)
        anchors[idx] = prior_mean[torch.arange(len(idx), device=X.device), labels[idx]]
    return means, labels, anchors


def grow_components(net, X, n_components, batch_size, seed):
    """Split the mixture of ``net`` into ``n_components`` components.

    Every row goes to its most probable component, and the components are
    split as :func:`skgmvae._init.split_components` says: a child keeps its
    parent's dependence on w, which the smaller mixture has learnt, and takes
    the variance of its cluster (see :meth:`GMVAENet.split_prior`). The new
    components thus refine the partition of the smaller mixture instead of
    cutting the embedding afresh.
    """
    embedding, labels, anchors = posterior_components(net, X, batch_size)
    if not torch.isfinite(embedding).all():
        raise FloatingPointError("the embedding became non-finite during training")
    parents, offsets, variances = split_components(
        embedding.double().cpu().numpy(),
        labels.cpu().numpy(),
        anchors.double().cpu().numpy(),
        net.n_components,
        n_components,
        seed,
    )
    net.split_prior(
        parents,
        torch.as_tensor(offsets, dtype=torch.float32),
        torch.as_tensor(variances, dtype=torch.float32),
    )


def fit_one(net, X, params, seed, verbose=0, stream=None, state=None):
    """Train ``net`` on the tensor ``X`` with one seed.

    Parameters
    ----------
    net : GMVAENet
        Freshly initialised networks, already on ``X``'s device.
    X : torch.Tensor of shape (n, D)
        Training data, float32, on the training device.
    params : dict
        ``max_iter``, ``pretrain_epochs``, ``batch_size``, ``learning_rate``,
        ``learning_rate_decay`` (optional, default 0),
        ``n_mc_samples``, ``kl_warmup``, ``min_information``, ``tol``,
        ``n_iter_no_change``, ``grow_from`` (optional, default None: train
        ``net.n_components`` components throughout; an int below it trains
        that many components for the first ``max_iter // 2`` epochs, then
        splits them, see :func:`grow_components`).
    seed : int
        Seed of every random draw of this run (batch order, Monte Carlo
        noise, mixture initialisation).
    state : dict or None
        The ``state`` returned by an earlier call on the same ``net``: when
        given, pretraining is skipped and the ELBO phase continues exactly
        where it stopped (epoch count, warm-up, early-stopping counters,
        optimiser moments, random stream) for up to ``max_iter`` more epochs.

    Returns
    -------
    history : list of dict
        One record per epoch (``phase``, ``epoch``, the four terms, ``elbo``,
        ``kl_weight``, ``time``).
    n_iter : int
        Number of ELBO epochs run.
    converged : bool
        Whether early stopping ended the run before ``max_iter``.
    interrupted : bool
        Whether a ``KeyboardInterrupt`` (Ctrl-C) ended the run; ``net`` then
        holds the parameters reached so far.
    state : dict
        Everything needed to continue training later (see ``state`` above).
    """
    history = []
    progress = _Progress(verbose, stream)
    interrupted = False
    state = {} if state is None else state
    n_components, head = net.n_components, net.prior_head
    try:
        converged = _train_phases(net, X, params, seed, progress, history, state)
    except KeyboardInterrupt:
        converged, interrupted = False, True
        if net.n_components != n_components:
            # stopped before the split: split now, so that the model has the
            # components it was asked for (a continuation then starts a new
            # optimiser for them)
            if state.get("split_at") is not None:
                batch_size = min(params["batch_size"], X.shape[0])
                grow_components(net, X, n_components, batch_size, seed)
                state["split_at"] = None
                state.pop("optimizer", None)
            else:  # still pretraining: back to the prior network as built
                net.prior_head, net.n_components = head, n_components
    n_iter = sum(1 for record in history if record["phase"] == "elbo")
    return history, n_iter, converged, interrupted, state


def _train_phases(net, X, params, seed, progress, history, state):
    """Pretraining, mixture initialisation and ELBO epochs; appends one record
    per epoch to ``history``, keeps ``state`` up to date and returns whether
    early stopping fired. An empty ``state`` starts from scratch."""
    from ._model import init_seed_state

    batch_size = min(params["batch_size"], X.shape[0])
    generator = init_seed_state(seed)
    if state:
        generator.set_state(state["generator"])
    else:
        n_components = net.n_components
        grow_from = params.get("grow_from")
        split_at = None
        if grow_from is not None and grow_from < n_components:
            split_at = params["max_iter"] // 2
            net.resize_prior(grow_from)
        if params["pretrain_epochs"] > 0:
            _pretrain(net, X, params, batch_size, generator, progress, history, seed)
        state.update(
            epoch=0,
            best=-math.inf,
            stall=0,
            learning_rate=params["learning_rate"],
            split_at=split_at,
            n_components=n_components,
        )
    try:
        return _elbo_phase(
            net, X, params, batch_size, generator, progress, history, state, seed
        )
    finally:
        state["generator"] = generator.get_state()


def _pretrain(net, X, params, batch_size, generator, progress, history, seed):
    optimizer = make_optimizer(net, params["learning_rate"])
    progress.begin(1, params["pretrain_epochs"])
    for epoch in range(1, params["pretrain_epochs"] + 1):
        tic = time.perf_counter()
        recon = pretrain_epoch(net, optimizer, X, batch_size, generator)
        record = {"phase": "pretrain", "epoch": epoch, "reconstruction": -recon}
        record["time"] = time.perf_counter() - tic
        history.append(record)
        progress.epoch("pretrain", epoch, record)
        if not math.isfinite(recon):
            raise FloatingPointError(
                "the reconstruction loss became non-finite during pretraining; "
                "lower learning_rate or check X for extreme values"
            )
    init_from_autoencoder(
        net, X, batch_size, seed, params.get("init_params", "consensus")
    )
    progress.pretrain_done([r for r in history if r["phase"] == "pretrain"])


def _elbo_phase(net, X, params, batch_size, generator, progress, history, state, seed):
    """The ELBO epochs of one call to fit; returns whether early stopping
    fired and leaves the optimiser's state in ``state["optimizer"]``."""
    optimizer = make_optimizer(net, state["learning_rate"])
    if "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    warmup = params["kl_warmup"]
    retries = 0
    good = _snapshot(net, optimizer)
    epoch = first = state["epoch"]
    last = state["epoch"] + params["max_iter"]
    progress.begin(epoch + 1, last)
    try:
        while epoch < last:
            if state.get("split_at") == epoch:
                grow_components(net, X, state["n_components"], batch_size, seed)
                progress.grown(epoch, net.n_components)
                state.update(split_at=None, best=-math.inf, stall=0)
                # the prior network has new parameters: a new optimiser for all
                optimizer = make_optimizer(net, state["learning_rate"])
                good = _snapshot(net, optimizer)
            epoch += 1
            tic = time.perf_counter()
            rate = decayed_learning_rate(
                state["learning_rate"],
                epoch - first,
                params["max_iter"],
                params.get("learning_rate_decay", 0.0),
            )
            for group in optimizer.param_groups:
                group["lr"] = rate
            kl_weight = min(1.0, epoch / warmup) if warmup > 0 else 1.0
            record = elbo_epoch(
                net,
                optimizer,
                X,
                batch_size,
                generator,
                params["n_mc_samples"],
                kl_weight,
                params["min_information"],
            )
            if not math.isfinite(record["elbo"]):
                if retries == MAX_DIVERGENCE_RETRIES:
                    raise FloatingPointError(
                        f"the ELBO became non-finite in epoch {epoch}, also after "
                        f"{retries} retries with smaller steps (down to learning_rate="
                        f"{state['learning_rate']:.3g}); lower learning_rate or check X "
                        "for extreme values"
                    )
                retries += 1
                state["learning_rate"] /= 10.0
                _restore(net, optimizer, good)
                history.append(
                    {
                        "phase": "rollback",
                        "epoch": epoch,
                        "learning_rate": state["learning_rate"],
                    }
                )
                progress.rollback(history[-1])
                epoch -= 1
                continue
            good = _snapshot(net, optimizer)
            state["epoch"] = epoch
            record.update(phase="elbo", epoch=epoch, kl_weight=kl_weight)
            record["time"] = time.perf_counter() - tic
            history.append(record)
            progress.epoch("elbo", epoch, record)
            if (
                kl_weight < 1.0
                or params["n_iter_no_change"] is None
                or state.get("split_at") is not None
            ):
                continue
            best = state["best"]
            if best == -math.inf or record["elbo"] > best + params["tol"] * max(
                1.0, abs(best)
            ):
                state["best"], state["stall"] = record["elbo"], 0
            else:
                state["stall"] += 1
                if state["stall"] >= params["n_iter_no_change"]:
                    progress.converged(epoch, params["n_iter_no_change"])
                    return True
        return False
    finally:
        state["optimizer"] = copy.deepcopy(optimizer.state_dict())
