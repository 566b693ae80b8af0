"""The optimisation loop: minibatches, autoencoder pretraining, mixture
initialisation and the epochs of the ELBO phase. What happens around each
epoch (KL warm-up, step size, rollback, the ``grow_from`` split, early
stopping, the return to the best epoch, history, progress output) is in
:mod:`skgmvae._callbacks`."""

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
import torch

from . import _elbo
from ._init import (
    SPECTRAL_OR_GAUSSIAN,
    TOUCHING_LEAK,
    anchor_shares,
    count_components,
    factor_components,
    full_covariance_estimable,
    initial_components,
    linear_map,
    neighbour_shares,
    partition_moments,
    seeded_rows,
    split_components,
    start_leak,
    within_cluster_axes,
)
from ._model import init_seed_state
from ._steps import Adam, epoch_draws, iter_batches, run_steps
from ._utils import mixed_precision, training_dtype

TERMS = ("reconstruction", "conditional_prior", "w_prior", "z_prior")

#: Share of a row's smoothed assignment that carries over from one ELBO
#: epoch to the next; the rest is the row's current z-posterior.
GRAPH_MEMORY = 0.99
#: A start is held (see :func:`start_leak`) when, on average, less than this
#: share of a row's neighbour weight falls on rows of other clusters: the
#: leak under which the "auto" start keeps the spectral partition.
HOLD_MAX_LEAK = TOUCHING_LEAK
#: Weight of the neighbour term, relative to ``graph_weight``, while it
#: holds a start.
HOLD_GRAPH_WEIGHT = 3.0
#: Weight of the neighbour term, relative to ``graph_weight``, while it
#: holds each row at its own cluster of the start (``OWN_CLUSTER_STARTS``).
OWN_HOLD_GRAPH_WEIGHT = 30.0
#: Starts held whatever their leak once the components start as factor
#: analysers of their clusters (see :func:`build_graph`).
HOLD_FACTORED_STARTS = ("spectral",)
#: Starts whose neighbour term holds each row at its own start cluster
#: rather than at its neighbours' (see :func:`build_graph`): a
#: Gaussian mixture of the input parts classes that the embedding's
#: graph has bent together, so the graph's neighbours would blur it, and
#: where it refines a spectral partition ("refined", or "spherical" by
#: KMeans of the input) it has moved the rows near the boundaries away from
#: their neighbours' clusters.
OWN_CLUSTER_STARTS = ("gaussian", "refined", "spherical")
#: The starts drawn by a mixture of the input rows; after them the latent
#: axes turn to the clusters' shared shape when ``TURN_GAUSSIAN_AXES`` (see
#: :func:`init_from_autoencoder`).
TURNED_STARTS = ("gaussian", "refined", "spherical")
#: Whether the latent axes turn after a start of ``TURNED_STARTS``.
TURN_GAUSSIAN_AXES = True

#: The starts after which the components start as factor analysers of
#: the start's clusters (:func:`factor_start`) rather than as diagonal
#: Gaussians.
FACTOR_STARTS = ("spectral", "gaussian", "refined", "spherical")

#: Rows, at most, from which q(w|y)'s start is regressed (a seeded subset).
FACTOR_MAP_ROWS = 20_000

#: Ridge penalty of that regression, relative to the features' variance.
FACTOR_RIDGE = 1e-2
#: The graph of the last epochs of a fit on large data (see
#: :func:`latent_graph`): each row's neighbours are drawn from at most this
#: many rows.
LATENT_GRAPH_ANCHORS = 20_000
#: Weight of the neighbour term on that graph, relative to
#: ``HOLD_GRAPH_WEIGHT`` (the graph is held at the trained posteriors).
LATENT_GRAPH_WEIGHT = 1.0
#: Rows per block when the neighbours' assignments are averaged.
GRAPH_BLOCK = 65536
#: Values (rows times columns) of a block of a sparse matrix made dense at a
#: time outside the minibatches: in inference, the bound and the checksum.
SPARSE_BLOCK_VALUES = 2**22


def sparse_block_rows(n_features):
    """Rows of a block of a sparse matrix made dense at a time:
    ``SPARSE_BLOCK_VALUES // n_features``, at least one."""
    return max(1, SPARSE_BLOCK_VALUES // max(1, int(n_features)))


class TrainingRows:
    """The training set as the optimisation loop reads it.

    ``rows[idx]`` is a float32 batch, standardised with ``shift`` and
    ``scale`` when they are given, on the training device. On the CPU the
    rows stay in the caller's array, which is not copied (read-only and
    memory-mapped arrays included): each batch is gathered and scaled when
    it is drawn, so fitting needs no second copy of the data. On an
    accelerator the scaled rows are copied to device memory once, in blocks.

    A CSR matrix stays as it is, on the host, whatever the device: each
    batch's rows are gathered from it and made dense, scaled as a dense
    array's rows would be, and moved to the device. No more than one batch
    (or one block of ``block_rows`` rows) is dense at a time.

    Parameters
    ----------
    X : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features)
        float32 or float64.
    shift, scale : ndarray of shape (n_features,) or None
    device : torch.device
    weights : ndarray of shape (n_samples,) or None, default=None
        Weight of each row, of mean 1 (None: every row counts once). Kept
        as ``self.weights``, a float32 tensor on ``device``.

    Attributes
    ----------
    block_rows : int
        Rows to read at a time outside the minibatches (a whole pass over
        the rows in blocks): ``COPY_BLOCK``, fewer for a sparse matrix with
        many columns (see :func:`sparse_block_rows`).
    """

    #: Rows converted at a time when copying to an accelerator.
    COPY_BLOCK = 65536

    def __init__(self, X, shift, scale, device, weights=None):
        self.shape = tuple(X.shape)
        self.device = torch.device(device)
        self._shift = self._scale = None
        self.weights = None
        if weights is not None:
            self.weights = torch.as_tensor(weights, dtype=torch.float32).to(self.device)
        self._sparse = None
        self.block_rows = self.COPY_BLOCK
        if sp.issparse(X):
            self._sparse = X.tocsr()
            self.block_rows = min(self.COPY_BLOCK, sparse_block_rows(X.shape[1]))
            self._set_scaling(shift, scale)
            return
        if self.device.type == "cpu":
            with warnings.catch_warnings():
                # the array is only read from, never written
                warnings.filterwarnings("ignore", message=".*not writable.*")
                self._rows = torch.from_numpy(np.asarray(X))
            self._set_scaling(shift, scale)
            return
        plain = TrainingRows(X, shift, scale, "cpu")
        self._rows = torch.empty(self.shape, dtype=torch.float32, device=self.device)
        for idx in iter_batches(self.shape[0], self.COPY_BLOCK):
            self._rows[idx.to(self.device)] = plain[idx].to(self.device)

    def _set_scaling(self, shift, scale):
        """Keep ``shift`` and ``scale`` (None: the rows are not scaled)."""
        if shift is not None:
            # scaled in float64, so that values beyond float32's range
            # (1e300 in float64 input) become ordinary numbers first
            self._shift = torch.as_tensor(shift, dtype=torch.float64)
            self._scale = torch.as_tensor(scale, dtype=torch.float64)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        if self._sparse is not None:
            rows = torch.as_tensor(idx).cpu().numpy()
            y = torch.from_numpy(self._sparse[rows].toarray())
        elif isinstance(idx, torch.Tensor) and idx.dim() == 1:
            # a minibatch's rows: index_select gathers whole rows faster
            # than advanced indexing does, with the same values
            y = torch.index_select(self._rows, 0, idx)
        else:
            y = self._rows[idx]
        if self._shift is not None:
            y = (y.to(torch.float64) - self._shift) / self._scale
        return y.to(torch.float32).to(self.device)

    def weights_of(self, idx):
        """The weights of the rows ``idx``, or None when rows are unweighted."""
        return None if self.weights is None else self.weights[idx]


def host_rows(X):
    """Whether each minibatch of ``X`` is gathered on the host (a CSR
    matrix), which a CUDA graph cannot capture."""
    return getattr(X, "_sparse", None) is not None


def row_weights(X, idx):
    """Weights of the rows ``idx`` of ``X``: None for unweighted rows (and
    for a plain tensor)."""
    weights_of = getattr(X, "weights_of", None)
    return None if weights_of is None else weights_of(idx)


def weighted_sum(values, weights):
    """Sum over the rows (the last dimension) of ``values``, weighted."""
    return values.sum(-1) if weights is None else (values * weights).sum(-1)


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


def make_optimizer(net, learning_rate):
    """Adam over the network's parameters, fused into one kernel where the
    installed torch supports it on the parameters' device."""
    try:
        return Adam(net.parameters(), lr=learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return Adam(net.parameters(), lr=learning_rate)


def autoencoder_loss(net, y):
    """Per-row loss of deterministic autoencoding (x = mean of q(x|y)):
    squared error for the Gaussian likelihood, cross-entropy for Bernoulli."""
    loc = net.decode(net.encode_mean(y))[0]
    if net.likelihood == "bernoulli":
        return -_elbo.bernoulli_log_prob(y, loc)
    return (loc - y).pow(2).sum(-1)


def _sum_dtype(device):
    """The dtype of an epoch's running sums: float64, but float32 on Apple's
    MPS, which has no float64."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def pretrain_epoch(net, optimizer, X, batch_size, generator, compute_dtype=None):
    """One epoch of deterministic autoencoding. Returns the mean loss.
    ``compute_dtype`` (None: float32) is the dtype of the networks' matrix
    products (see :func:`skgmvae._utils.training_dtype`).

    The loss is summed on the training device and read once, at the end of
    the epoch, so that an accelerator never waits for the host within it.
    """
    net.train()
    total = torch.zeros((), dtype=_sum_dtype(X.device), device=X.device)

    def step(idx, noise):
        weights = row_weights(X, idx)
        with mixed_precision(X.device, compute_dtype):
            recon = autoencoder_loss(net, X[idx])
        loss = _elbo.batch_mean(recon, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total.add_(weighted_sum(recon.detach(), weights).to(total.dtype))

    draws = epoch_draws(X.shape[0], batch_size, generator, X.device)
    graphs = False if host_rows(X) else None
    run_steps(step, draws, batch_size, X.device, optimizer, graphs)
    return float(total) / X.shape[0]


def elbo_epoch(
    net,
    optimizer,
    X,
    batch_size,
    generator,
    n_mc_samples,
    kl_weight,
    min_information,
    targets=None,
    graph_weight=0.0,
    check_each_step=None,
    compute_dtype=None,
):
    """One epoch of ELBO ascent. Returns the mean of each term and the ELBO
    over the epoch's minibatches (the true bound, without warm-up or λ).

    With ``targets`` (shape (n, K), rows summing to 1), the loss also holds
    ``graph_weight`` times the cross-entropy from each row's target to its
    z-posterior (see :func:`skgmvae._elbo.neighbour_loss`).

    The sums stay on the training device until the end of the epoch. On the
    CPU each step's loss is checked before it reaches the parameters; on an
    accelerator, where that check would make the device wait for the host at
    every step, a non-finite loss shows in the epoch's sums instead, and the
    epoch is undone as a whole (see :class:`~skgmvae._callbacks.DivergenceRollback`).
    ``check_each_step`` (None: on the CPU only) chooses; checked steps are
    not replayed from CUDA graphs (see :mod:`skgmvae._steps`).
    ``compute_dtype`` (None: float32) is the dtype of the networks' matrix
    products; the bound's arithmetic stays float32.
    """
    net.train()
    keys = TERMS + ("elbo",)
    if check_each_step is None:
        check_each_step = X.device.type == "cpu"
    sums = torch.zeros(len(TERMS), dtype=_sum_dtype(X.device), device=X.device)

    def step(idx, noise):
        weights = row_weights(X, idx)
        with mixed_precision(X.device, compute_dtype):
            terms = net.elbo_terms(X[idx], noise)
        loss = _elbo.training_loss(terms, kl_weight, min_information, weights)
        if targets is not None:
            loss = loss + graph_weight * _elbo.neighbour_loss(
                terms, targets[idx], weights
            )
        if check_each_step and not torch.isfinite(loss):
            return False  # stop before the bad step reaches the parameters
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            values = torch.stack([terms[key] for key in TERMS])
            sums.add_(weighted_sum(values, weights).to(sums.dtype))
        return True

    noise_shape = (n_mc_samples, net.latent_dim + net.noise_dim)
    draws = epoch_draws(X.shape[0], batch_size, generator, X.device, noise_shape)
    graphs = False if check_each_step or host_rows(X) else None
    if not run_steps(step, draws, batch_size, X.device, optimizer, graphs):
        return dict.fromkeys(keys, math.nan)
    means = dict(zip(TERMS, (sums / X.shape[0]).tolist()))
    means["elbo"] = means["reconstruction"] - sum(means[key] for key in TERMS[1:])
    return means


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


def take_snapshot(net, optimizer):
    """Copies of the network's and the optimiser's state, for
    :func:`restore_snapshot`."""
    return (
        {k: v.detach().clone() for k, v in net.state_dict().items()},
        copy.deepcopy(optimizer.state_dict()),
    )


def restore_snapshot(net, optimizer, snapshot):
    """Back to ``snapshot``; the ELBO loop sets the step size of the next
    epoch. The optimiser gets a copy of the snapshot's state (loading takes
    over the tensors it is given, and the steps after would change them), so
    a snapshot restores the same state however often it is restored."""
    net.load_state_dict(snapshot[0])
    optimizer.load_state_dict(copy.deepcopy(snapshot[1]))


@torch.no_grad()
def encode_means(net, X, batch_size):
    """Posterior mean of x for every row of ``X`` (eval mode)."""
    net.eval()
    out = torch.empty((X.shape[0], net.latent_dim), device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        out[idx] = net.encode_mean(X[idx])
    return out


def init_from_autoencoder(
    net,
    X,
    batch_size,
    seed,
    init="consensus",
    n_neighbors=None,
    choose_components=False,
):
    """Prepare the pretrained autoencoder for the ELBO phase.

    The prior's components start at the clusters of the posterior means of
    ``X`` (see :func:`skgmvae._init.initial_components`, which ``init``
    chooses). After a start of ``TURNED_STARTS`` (a mixture of the input
    rows drew its clusters), the latent axes first turn to the eigenvectors of the
    clusters' pooled covariance (:func:`skgmvae._init.within_cluster_axes`,
    :meth:`GMVAENet.rotate_latent`), and the clusters' moments are taken in
    the turned axes. After a ``"spectral"`` start, whose clusters are often
    long and bent, and after the starts drawn by a mixture of the input,
    the components start as factor analysers of the
    clusters (:func:`factor_start`) where the clusters have the rows for a
    factor, else as their diagonal moments. q(x|y)
    starts with a variance small next to the spread of the embedding, so
    the first sampled epochs keep what pretraining learned; the decoder's
    variances start at the per-feature residual variance.

    With ``choose_components``, the number of components is chosen first,
    up to the network's (:func:`skgmvae._init.count_components`: the
    eigengap of the embedding's neighbour graph, or on large data the
    modularity of consensus cuts), and the prior network is resized to it.

    Returns the rows' coordinates for the neighbour graph (a tensor: the
    start's UMAP layout, or the standardised input rows whose graph the
    start cut, where it covers every row; else the embedding),
    the partition the start comes from (see ``initial_components``),
    whether the components started as factor analysers of its clusters,
    and the start that was made (its ``method``).
    """
    embedding = encode_means(net, X, batch_size)
    if not torch.isfinite(embedding).all():
        raise FloatingPointError("the embedding became non-finite during pretraining")
    weights = row_weights(X, slice(None))
    set_residual_variance(net, X, embedding, batch_size)
    rows = embedding.double().cpu().numpy()
    if choose_components:
        n_components = count_components(rows, net.n_components, seed)
        net.resize_prior(max(n_components, 1))
    row_shares = None if weights is None else weights.double().cpu().numpy()
    inputs = None
    if init in (SPECTRAL_OR_GAUSSIAN, "gaussian") and full_covariance_estimable(
        X.shape[0], X.shape[1], net.n_components
    ):
        inputs = X[torch.arange(X.shape[0])].double().cpu().numpy()
    means, variances, labels, layout, taken = initial_components(
        rows,
        net.n_components,
        seed,
        init,
        n_neighbors,
        return_labels=True,
        return_layout=True,
        weights=row_shares,
        inputs=inputs,
        return_method=True,
    )
    if taken in TURNED_STARTS and TURN_GAUSSIAN_AXES:
        # clusters of a mixture of the input: turn the axes to their shared shape
        axes = within_cluster_axes(rows, labels, row_shares)
        net.rotate_latent(torch.as_tensor(axes))
        embedding = embedding @ torch.as_tensor(axes).to(embedding)
        rows = rows @ axes
        means, variances = partition_moments(rows, labels, net.n_components, row_shares)
    posterior = torch.clamp(0.01 * embedding_spread(embedding, weights), min=1e-3).cpu()
    factored = taken in FACTOR_STARTS and factor_start(
        net, X, rows, labels, row_shares, batch_size, seed, posterior.double().numpy()
    )
    if not factored:
        net.set_prior_components(
            torch.as_tensor(means, dtype=torch.float32),
            torch.as_tensor(variances, dtype=torch.float32),
        )
    net.set_posterior_variance(posterior)
    space = embedding if layout is None else torch.as_tensor(layout)
    return space, labels, factored, taken


@torch.no_grad()
def set_residual_variance(net, X, embedding, batch_size):
    """Start the Gaussian decoder's variances at the per-feature residual
    variance of the autoencoder that maps ``X`` to ``embedding``."""
    net.eval()
    residual = torch.zeros(X.shape[1], device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        error = (net.decode(embedding[idx])[0] - X[idx]).pow(2)
        residual += weighted_sum(error.T, row_weights(X, idx))
    net.set_decoder_variance(torch.clamp(residual / X.shape[0], min=1e-3).cpu())


def factor_start(net, X, embedding, labels, weights, batch_size, seed, min_noise=1e-4):
    """Start the prior's components as factor analysers of the clusters of
    ``labels`` in ``embedding`` (see :func:`skgmvae._init.factor_components`)
    with as many factors as w has dimensions (fewer than ``latent_dim`` and
    the prior's hidden width), and q(w|y) at each row's posterior factors:
    a ridge regression on the encoder's last hidden layer, fitted on at
    most ``FACTOR_MAP_ROWS`` labelled rows.

    A spectral cluster is rarely a diagonal Gaussian in the embedding (a
    digit class is long and bent), nor is a cluster of a start drawn by a
    Gaussian mixture of the input; its diagonal moments then assign many
    rows to a neighbouring component before the first ELBO step, and
    the ELBO recovers only part of the start. The components' noise is
    at least ``min_noise`` (q(x|y)'s starting variance: a component
    narrower than the posterior of x it holds would make the bound's
    first steps pay for the difference). Returns False, changing
    nothing, where there is no factor to start (``latent_dim`` 1, no
    cluster with the rows for one).
    """
    n_factors = min(net.noise_dim, net.latent_dim - 1, net.prior_hidden[0].out_features)
    if n_factors < 1:
        return False
    means, variances, loadings, factors, factor_variance = factor_components(
        embedding, labels, net.n_components, n_factors, weights, min_noise
    )
    if not np.any(loadings):  # no cluster has the rows for a factor
        return False
    kept = np.flatnonzero(labels >= 0)
    kept = kept[seeded_rows(len(kept), FACTOR_MAP_ROWS, np.random.default_rng(seed))]
    hidden = hidden_features(net, X, kept, batch_size)
    coef, intercept = linear_map(hidden, factors[kept], FACTOR_RIDGE)
    net.set_prior_factors(
        *(torch.as_tensor(a, dtype=torch.float32) for a in (means, variances, loadings))
    )
    variance = np.ones(net.noise_dim)
    variance[:n_factors] = factor_variance
    net.set_noise_posterior(
        *(torch.as_tensor(a, dtype=torch.float32) for a in (coef, intercept, variance))
    )
    return True


@torch.no_grad()
def hidden_features(net, X, rows, batch_size):
    """The encoder's last hidden layer (``X`` itself without hidden layers)
    for ``X[rows]``, as a float64 numpy array (eval mode)."""
    net.eval()
    rows = torch.as_tensor(rows)
    out = []
    for idx in iter_batches(len(rows), batch_size):
        out.append(net.encoder(X[rows[idx].to(X.device)]).double().cpu())
    return torch.cat(out).numpy()


def embedding_spread(embedding, weights=None):
    """Variance of each column of ``embedding`` (shape (n, Dx)), rows
    counting by their ``weights``; ones for fewer than two rows."""
    n = embedding.shape[0]
    if n < 2:
        return torch.ones(embedding.shape[1], device=embedding.device)
    if weights is None:
        return embedding.var(0)
    centred = embedding - weighted_sum(embedding.T, weights) / n
    return weighted_sum(centred.pow(2).T, weights) / (n - 1)


@torch.no_grad()
def posterior_probs(net, X, batch_size):
    """Probability of each component for every row of ``X``, as
    ``predict_proba`` gives it (eval mode); shape (n, K)."""
    net.eval()
    out = torch.empty((X.shape[0], net.n_components), device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        out[idx] = torch.softmax(net.component_logits(X[idx])[1], -1)
    return out


@torch.no_grad()
def posterior_means_and_probs(net, X, batch_size):
    """The posterior mean of x and the probability of each component for
    every row of ``X``, from one pass through the networks (eval mode): the
    results of :func:`encode_means` and :func:`posterior_probs`, bit for
    bit; shapes (n, Dx) and (n, K)."""
    net.eval()
    means = torch.empty((X.shape[0], net.latent_dim), device=X.device)
    probs = torch.empty((X.shape[0], net.n_components), device=X.device)
    for idx in iter_batches(X.shape[0], batch_size):
        idx = idx.to(X.device)
        means[idx], logits, _ = net.component_logits(X[idx])
        probs[idx] = torch.softmax(logits, -1)
    return means, probs


@torch.no_grad()
def rows_checksum(X):
    """A number that tells one training set from another: the sum of all
    entries and of the first column weighted by row number."""
    total = weighted = 0.0
    block = getattr(X, "block_rows", TrainingRows.COPY_BLOCK)
    for idx in iter_batches(X.shape[0], block):
        y = X[idx.to(X.device)].double()
        total += float(y.sum())
        weighted += float((y[:, 0] * (idx.to(y.device) + 1)).sum())
    return (X.shape[0], total, weighted)


@dataclass
class NeighbourGraph:
    """The neighbour term of a run (see :func:`neighbour_targets`).

    Attributes
    ----------
    neighbors : torch.Tensor of shape (n, k), int32
        Nearest other rows of each training row in the embedding.
    memory : torch.Tensor of shape (n, K)
        Each row's smoothed assignment: a running mean over the ELBO epochs
        of its z-posterior, started at the partition of the mixture's start.
    checksum : tuple
        :func:`rows_checksum` of the rows it was built on.
    weights : torch.Tensor of shape (n, k) or None
        The share of each neighbour in its row's target (rows sum to 1);
        None: equal shares.
    held : bool
        Whether the memory stays at the start's partition (see
        :func:`start_leak`) instead of following the z-posterior; a split
        of the components ends the hold.
    own : bool
        Whether each row's only neighbour is the row itself: its target is
        its own start cluster.
    """

    neighbors: Any
    memory: Any
    checksum: tuple
    weights: Any = None
    held: bool = False
    own: bool = False


def build_graph(
    net,
    X,
    batch_size,
    n_neighbors,
    embedding=None,
    labels=None,
    hold=False,
    firm=False,
    own=False,
):
    """The :class:`NeighbourGraph` of ``X``: the ``n_neighbors`` nearest
    neighbours in ``embedding`` (the current posterior means when None),
    each weighed as in the spectral start's graph
    (:func:`skgmvae._init.self_tuning_weights`), so that the few neighbours
    a row has across a gap count little in its target; the memory starts
    one-hot at ``labels`` and, for rows without one (-1 or None), at the
    current z-posterior.

    With ``hold``, a start whose clusters the graph separates (a
    :func:`start_leak` under ``HOLD_MAX_LEAK``, every row labelled) is
    held: the graph is marked ``held``; with ``firm`` too, every start
    whose rows are all labelled is held. With ``hold`` and ``own``, a start
    whose rows are all labelled is held with each row as its only
    neighbour: its target is its own start cluster."""
    labelled = labels is not None and bool(np.all(np.asarray(labels) >= 0))
    own = bool(own and hold and labelled)
    if own or embedding is not None:
        memory = posterior_probs(net, X, batch_size)
    else:
        embedding, memory = posterior_means_and_probs(net, X, batch_size)
    if own:
        near = np.arange(X.shape[0])[:, None]
        weights = np.ones(near.shape)
    else:
        near, weights = neighbour_shares(embedding.double().cpu().numpy(), n_neighbors)
    held = bool(
        hold
        and labelled
        and (own or firm or start_leak(near, weights, labels) < HOLD_MAX_LEAK)
    )
    if labels is not None:
        labels = torch.as_tensor(labels, device=memory.device)
        known = labels >= 0
        memory[known] = torch.nn.functional.one_hot(
            labels[known], net.n_components
        ).to(memory.dtype)
    neighbors = torch.as_tensor(near, dtype=torch.int32, device=X.device)
    weights = torch.as_tensor(weights, dtype=memory.dtype, device=X.device)
    return NeighbourGraph(neighbors, memory, rows_checksum(X), weights, held, own)


def latent_graph(net, X, batch_size, n_neighbors, seed):
    """The held :class:`NeighbourGraph` of the trained model: each row's
    ``n_neighbors`` nearest rows in the current posterior means of x, among
    ``LATENT_GRAPH_ANCHORS`` rows drawn with ``seed``
    (:func:`skgmvae._init.anchor_shares`), its memory at the current
    z-posteriors: the neighbours' mean assignment in the embedding the
    bound has shaped pulls the rows that the Gaussian components leave near
    their boundaries towards their neighbours' cluster."""
    embedding, memory = posterior_means_and_probs(net, X, batch_size)
    embedding = embedding.double().cpu().numpy()
    near, weights = anchor_shares(embedding, n_neighbors, LATENT_GRAPH_ANCHORS, seed)
    return NeighbourGraph(
        torch.as_tensor(near, dtype=torch.int32, device=X.device),
        memory,
        rows_checksum(X),
        torch.as_tensor(weights, dtype=memory.dtype, device=X.device),
        held=True,
    )


@torch.no_grad()
def neighbour_targets(graph, net, X, batch_size):
    """The targets of an ELBO epoch and the memory to keep after it.

    The memory moves a ``1 - GRAPH_MEMORY`` share towards the current
    z-posterior of each row (it stays as it is in a ``held`` graph); a
    row's target is the mean of its neighbours' memories, weighed by the
    graph's ``weights``. A row is thus pulled
    towards the component that its neighbourhood has held, which keeps the
    groups of the graph in one component even where a Gaussian would rather
    cut them.
    """
    memory = graph.memory.to(X.device)
    if memory.shape[1] != net.n_components:  # after a split
        memory = posterior_probs(net, X, batch_size)
    elif not graph.held:
        memory = GRAPH_MEMORY * memory + (1 - GRAPH_MEMORY) * posterior_probs(
            net, X, batch_size
        )
    neighbors = graph.neighbors.to(X.device)
    weights = None if graph.weights is None else graph.weights.to(X.device)
    targets = torch.empty_like(memory)
    for idx in iter_batches(X.shape[0], GRAPH_BLOCK):
        idx = idx.to(X.device)
        near = memory[neighbors[idx].long()]
        if weights is None:
            targets[idx] = near.mean(1)
        else:
            targets[idx] = (near * weights[idx].unsqueeze(2)).sum(1)
    return targets, memory


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
    weights = row_weights(X, slice(None))
    parents, offsets, variances = split_components(
        embedding.double().cpu().numpy(),
        labels.cpu().numpy(),
        anchors.double().cpu().numpy(),
        net.n_components,
        n_components,
        seed,
        weights=None if weights is None else weights.double().cpu().numpy(),
    )
    net.split_prior(
        parents,
        torch.as_tensor(offsets, dtype=torch.float32),
        torch.as_tensor(variances, dtype=torch.float32),
    )


@dataclass
class FitParams:
    """The parameters of one call to fit, as the training loop reads them.

    Attributes
    ----------
    max_iter : int
        ELBO epochs this call may run.
    pretrain_epochs : int
        Autoencoder epochs of a fresh run (0 skips pretraining and the
        mixture initialisation).
    batch_size : int
        Rows per minibatch (capped at the number of rows).
    learning_rate : float
        Adam step size of a fresh run.
    n_mc_samples : int
        Monte Carlo samples per row and step.
    kl_warmup : int
        Epochs of the KL warm-up (0: none).
    min_information : float
        Minimum information constraint in nats.
    tol : float
        Relative ELBO gain that counts as progress for early stopping.
    n_iter_no_change : int or None
        Patience of early stopping; None never stops early.
    learning_rate_decay : float
        Share of the call's epochs over which the step size decays.
    grow_from : int or None
        Components of a fresh run before the split, see
        :class:`skgmvae._callbacks.GrowComponents`.
    init_params : str or callable
        How the mixture starts on the pretrained embedding (a method of
        :func:`skgmvae._init.initial_components`).
    graph_weight : float
        Weight of the neighbour term (0: the plain ELBO).
    hold_start : bool
        Whether the neighbour term holds a start whose clusters its graph
        separates (see :func:`build_graph`): its targets then stay at the
        start's partition and it weighs ``HOLD_GRAPH_WEIGHT`` times
        ``graph_weight``.
    n_neighbors : int
        Neighbours of each row in the graph of the neighbour term and of the
        spectral start.
    choose_components : bool
        Whether the start chooses the number of components, up to the
        network's (``n_components="auto"``).
    latent_graph_epochs : int
        The last ELBO epochs of the call (this many, after the others end,
        in a call of more epochs and once the KL warm-up is over) train
        with the neighbour term on the trained model's graph
        (:func:`latent_graph`) instead of ``graph_weight``'s.
    precision : {"auto", "float32", "bfloat16"}
        Dtype of the networks' matrix products in training steps (see
        :func:`skgmvae._utils.training_dtype`).
    """

    max_iter: int
    pretrain_epochs: int
    batch_size: int
    learning_rate: float
    n_neighbors: int
    n_mc_samples: int = 1
    kl_warmup: int = 10
    min_information: float = 0.5
    tol: float = 1e-4
    n_iter_no_change: Optional[int] = 10
    learning_rate_decay: float = 0.0
    grow_from: Optional[int] = None
    init_params: Any = "consensus"
    graph_weight: float = 0.0
    hold_start: bool = False
    choose_components: bool = False
    precision: str = "float32"
    latent_graph_epochs: int = 0


@dataclass
class RunState:
    """Where a run stands after its ELBO epochs: all a later call needs to
    continue it exactly.

    Attributes
    ----------
    learning_rate : float
        Step size before the schedule (ten times smaller after each rollback).
    n_components : int
        Components the model is to have (after a pending split).
    epoch : int
        ELBO epochs finished.
    best : float
        Best epoch ELBO of early stopping.
    stall : int
        Epochs since early stopping last saw progress.
    split_at : int or None
        ELBO epoch after which the pending ``grow_from`` split happens.
    generator : torch.Tensor or None
        State of the run's random generator.
    optimizer : dict or None
        State dict of the Adam optimiser; None starts a new one.
    graph : NeighbourGraph or None
        The neighbour term's graph and memory; None builds them on the
        current embedding.
    """

    learning_rate: float
    n_components: int
    epoch: int = 0
    best: float = -math.inf
    stall: int = 0
    split_at: Optional[int] = None
    generator: Optional[torch.Tensor] = None
    optimizer: Optional[dict] = None
    graph: Optional[NeighbourGraph] = None


@dataclass
class FitResult:
    """What one run of training gives.

    Attributes
    ----------
    net : GMVAENet
        The trained networks.
    seed : int
        Seed of the run.
    history : list of dict
        One record per epoch of this call (``phase``, ``epoch``, the four
        terms, ``elbo``, ``kl_weight``, ``time``; rollback and return records).
    n_iter : int
        ELBO epochs run by this call.
    converged : bool
        Whether early stopping ended the run.
    interrupted : bool
        Whether Ctrl-C (``KeyboardInterrupt``) ended the run; ``net`` then
        holds the parameters reached so far.
    state : RunState or None
        Where the run stands, to continue it; None when it was interrupted
        during pretraining.
    bound : float
        Mean ELBO per row of the training data, set by the estimator.
    """

    net: Any
    seed: int
    history: list = field(default_factory=list)
    n_iter: int = 0
    converged: bool = False
    interrupted: bool = False
    state: Optional[RunState] = None
    bound: float = math.nan


class Trainer:
    """Trains one run: pretraining (for a fresh run), then ELBO epochs,
    notifying its callbacks (see :class:`skgmvae._callbacks.Callback`) around
    each.

    Parameters
    ----------
    net : GMVAENet
        The networks, already on ``X``'s device.
    X : TrainingRows or torch.Tensor of shape (n, D)
        Training rows, float32, on the training device.
    params : FitParams
    seed : int
        Seed of every random draw of this run (batch order, Monte Carlo
        noise, mixture initialisation).
    callbacks : list of Callback
        Notified in this order.
    state : RunState or None, default=None
        The state of an earlier call on the same ``net``: pretraining is
        skipped and the ELBO epochs continue exactly where they stopped, for
        up to ``params.max_iter`` more. None starts a fresh run.
    """

    def __init__(self, net, X, params, seed, callbacks, state=None):
        self.net, self.X, self.params, self.seed = net, X, params, seed
        self.callbacks = list(callbacks)
        self.state = state
        self.batch_size = min(params.batch_size, X.shape[0])
        self.compute_dtype = training_dtype(params.precision, X.device)
        self.history = []
        self.optimizer = self.generator = None
        self.kl_weight = 1.0
        self.first_epoch = self.last_epoch = 0
        self.converged = self.interrupted = self.retry = False
        #: Weight of the neighbour term in the coming epochs; the first
        #: epoch on the trained model's graph (None before it).
        self.graph_weight, self.latent_graph_from = params.graph_weight, None
        #: The start the pretraining ended with (see
        #: :func:`skgmvae._init.initial_components`); None without one.
        self.start_method = None

    def notify(self, hook, **kwargs):
        """Call ``hook`` of every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, hook)(self, **kwargs)

    def fit(self):
        """Train; returns a :class:`FitResult`. Ctrl-C ends training early
        and leaves a usable model."""
        n_components = self.net.n_components
        try:
            self.notify("on_train_begin")
            self.generator = init_seed_state(self.seed)
            if self.state is None:
                start = self._pretrain()
                if self.params.choose_components:
                    n_components = self.net.n_components
                self.state = RunState(self.params.learning_rate, n_components)
                self._start_graph(*start)
            else:
                self.generator.set_state(self.state.generator)
                self._check_graph()
            self._elbo_epochs()
        except KeyboardInterrupt:
            self.interrupted = True
        self.notify("on_train_end")
        return FitResult(
            net=self.net,
            seed=self.seed,
            history=self.history,
            n_iter=sum(1 for record in self.history if record["phase"] == "elbo"),
            converged=self.converged,
            interrupted=self.interrupted,
            state=self.state,
        )

    def _pretrain(self):
        """Autoencoder epochs, then the mixture on the embedding."""
        n_epochs = self.params.pretrain_epochs
        if n_epochs <= 0:
            return None, None
        self.optimizer = make_optimizer(self.net, self.params.learning_rate)
        self.notify("on_pretrain_begin")
        for epoch in range(1, n_epochs + 1):
            self.notify("on_pretrain_epoch_begin", epoch=epoch)
            tic = time.perf_counter()
            recon = pretrain_epoch(
                self.net,
                self.optimizer,
                self.X,
                self.batch_size,
                self.generator,
                self.compute_dtype,
            )
            record = {"phase": "pretrain", "epoch": epoch, "reconstruction": -recon}
            record["time"] = time.perf_counter() - tic
            self.notify("on_pretrain_epoch_end", record=record)
            if not math.isfinite(recon):
                raise FloatingPointError(
                    "the reconstruction loss became non-finite during pretraining; "
                    "lower learning_rate or check X for extreme values"
                )
        *start, self.start_method = init_from_autoencoder(
            self.net,
            self.X,
            self.batch_size,
            self.seed,
            self.params.init_params,
            self.params.n_neighbors,
            self.params.choose_components,
        )
        self.notify("on_pretrain_end")
        return start

    def _start_graph(self, embedding=None, labels=None, factored=False):
        """Build the neighbour term's graph of a fresh run (or of a run
        continued on other rows): on the rows ``embedding`` (the start's layout:
        UMAP coordinates or the standardised input rows whose graph the start
        cut; else the pretrained embedding), its memory at the start's
        partition. A start of ``HOLD_FACTORED_STARTS`` whose
        components are ``factored`` is held whatever its leak; one of
        ``OWN_CLUSTER_STARTS`` holds each row at its own start cluster."""
        if self.params.graph_weight <= 0 or self.X.shape[0] < 2:
            self.state.graph = None
            return
        self.state.graph = build_graph(
            self.net,
            self.X,
            self.batch_size,
            self.params.n_neighbors,
            embedding,
            labels,
            hold=self.params.hold_start,
            firm=factored and self.start_method in HOLD_FACTORED_STARTS,
            own=self.start_method in OWN_CLUSTER_STARTS,
        )

    def _check_graph(self):
        """A continued run keeps its graph while it trains on the same rows;
        on other rows (``partial_fit`` on a new chunk), or without a graph,
        the graph is built again. A held start stays held only while the
        parameters ask for it."""
        graph = self.state.graph
        if self.params.graph_weight > 0 and (
            graph is None or graph.checksum != rows_checksum(self.X)
        ):
            self._start_graph()
        elif graph is not None and not self.params.hold_start:
            self._release_graph()

    def _release_graph(self):
        """End the hold of the start: the memory follows the z-posterior
        from now on; a graph whose rows were their own only neighbours is
        built again on the neighbours of the current embedding."""
        if self.state.graph.own:
            self._start_graph()
        else:
            self.state.graph.held = False

    def _elbo_epochs(self):
        """Up to ``params.max_iter`` ELBO epochs; the optimiser's and the
        generator's states go to ``state`` however they end."""
        state = self.state
        self.optimizer = None
        try:
            self.optimizer = make_optimizer(self.net, state.learning_rate)
            if state.optimizer is not None:
                self.optimizer.load_state_dict(state.optimizer)
            self.first_epoch = state.epoch
            self.last_epoch = state.epoch + self.params.max_iter
            self.notify("on_elbo_begin")
            final = self.params.latent_graph_epochs
            final = final if self.params.max_iter > final else 0
            while state.epoch < self.last_epoch - final and not self.converged:
                self._elbo_epoch(state.epoch + 1)
            ended = final > 0 and state.epoch >= self.params.kl_warmup
            if ended:
                self.notify("on_elbo_end")
                self._latent_graph_epochs(min(self.last_epoch, state.epoch + final))
            while state.epoch < self.last_epoch and not self.converged:
                self._elbo_epoch(state.epoch + 1)
            if not ended:
                self.notify("on_elbo_end")
        finally:
            state.generator = self.generator.get_state()
            if self.optimizer is not None:
                state.optimizer = copy.deepcopy(self.optimizer.state_dict())

    def _latent_graph_epochs(self, last):
        """ELBO epochs up to ``last`` with the neighbour term on the
        trained model's graph (:func:`latent_graph`), dropped after them.
        Early stopping's counters and verdict stay those of the epochs
        before: these epochs end the call whatever the bound does."""
        params, state = self.params, self.state
        kept = (state.graph, state.best, state.stall, self.converged)
        state.graph = latent_graph(
            self.net, self.X, self.batch_size, params.n_neighbors, self.seed
        )
        self.graph_weight = LATENT_GRAPH_WEIGHT
        self.latent_graph_from = state.epoch + 1
        try:
            while state.epoch < last:
                self._elbo_epoch(state.epoch + 1)
        finally:
            state.graph, state.best, state.stall, self.converged = kept
            self.graph_weight = params.graph_weight

    def _elbo_epoch(self, epoch):
        """Run ELBO epoch ``epoch``; a diverged one is left to the callbacks
        (``on_epoch_diverged``), which may have it run again."""
        self.notify("on_epoch_begin", epoch=epoch)
        tic = time.perf_counter()
        targets = memory = None
        weight, graph = self.graph_weight, self.state.graph
        if graph is not None and weight > 0:
            if graph.memory.shape[1] != self.net.n_components:
                self._release_graph()  # a split ends the hold of the start
                graph = self.state.graph
            targets, memory = neighbour_targets(graph, self.net, self.X, self.batch_size)
            if graph.held:
                scale = OWN_HOLD_GRAPH_WEIGHT if graph.own else HOLD_GRAPH_WEIGHT
                weight = scale * weight
        record = elbo_epoch(
            self.net,
            self.optimizer,
            self.X,
            self.batch_size,
            self.generator,
            self.params.n_mc_samples,
            self.kl_weight,
            self.params.min_information,
            targets,
            weight,
            compute_dtype=self.compute_dtype,
        )
        if not math.isfinite(record["elbo"]):
            self.retry = False
            self.notify("on_epoch_diverged", epoch=epoch)
            if not self.retry:
                raise FloatingPointError(
                    f"the ELBO became non-finite in epoch {epoch}; lower "
                    "learning_rate or check X for extreme values"
                )
            return
        self.state.epoch = epoch
        if memory is not None:
            self.state.graph.memory = memory
        record.update(phase="elbo", epoch=epoch, kl_weight=self.kl_weight)
        record["time"] = time.perf_counter() - tic
        self.notify("on_epoch_end", record=record)
