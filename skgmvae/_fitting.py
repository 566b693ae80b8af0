"""How a fit runs: from validated rows to the kept run of ``n_init``.

``train`` is shared by ``fit`` and ``partial_fit``: it initialises a fit from
scratch (scaling, architecture, seeds) unless it continues the kept run,
trains each run with a :class:`~skgmvae._train.Trainer`, keeps the one with
the best bound and sets the fitted attributes.
"""

import math
import time
import warnings
from numbers import Integral

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._callbacks import Callback, default_callbacks
from ._data import Scaling, check_weights, validate
from ._inference import elbo_rows, labels
from ._init import SPECTRAL_OR_GAUSSIAN
from ._model import build_net
from ._train import FitParams, Trainer
from ._utils import (
    flush_denormals,
    mixed_precision,
    resolve_device,
    torch_threads,
    training_threads,
)

#: Rows that pretrain_epochs="auto" passes through the autoencoder (100
#: epochs up to 14,000 rows, 20 for 70,000), and its epoch bounds.
AUTO_PRETRAIN_ROWS = 1_400_000
AUTO_PRETRAIN_EPOCHS = (2, 100)
#: batch_size="auto": about this many minibatches an epoch, with a power of
#: two rows each within these bounds (128 up to about 23,000 rows, 256
#: above).
AUTO_BATCH_STEPS = 128
AUTO_BATCH_SIZES = (128, 256)
#: max_iter="auto": ELBO epochs that pass about this many rows (100 epochs
#: up to 35,000 rows, 50 for 70,000), within these bounds. The bound is what
#: the model is fitted for, and on large data its epochs gain accuracy
#: longer than pretraining epochs do: on all 70,000 MNIST images, 20
#: pretraining and 50 ELBO epochs take the time that 37 and 33 took (see the
#: user guide, Training).
AUTO_ELBO_ROWS = 3_500_000
AUTO_ELBO_EPOCHS = (10, 100)
#: init_params="auto" and graph_weight="auto": the spectral start (or, where
#: its clusters touch, a Gaussian mixture of the input; see
#: skgmvae._init.initial_components) and the neighbour term up to this many
#: rows, the consensus start and the plain bound above, but for the last
#: LATENT_GRAPH_EPOCHS (where the spectral start would see only a subset,
#: and where the neighbour term on the pretrained embedding's graph held all
#: 70,000 MNIST images at 0.79-0.90 accuracy against 0.957 without it).
NEIGHBOUR_MAX_ROWS = 20_000
#: graph_weight="auto" up to NEIGHBOUR_MAX_ROWS rows.
AUTO_GRAPH_WEIGHT = 1.0
#: graph_weight="auto" above NEIGHBOUR_MAX_ROWS rows: the last this many
#: ELBO epochs of a call to fit train with the neighbour term on the graph
#: of the trained model's embedding (skgmvae._train.latent_graph), where
#: the classes lie far better apart than in the pretrained one (user guide,
#: Training, "The neighbour term").
LATENT_GRAPH_EPOCHS = 3
#: n_neighbors="auto": this many neighbours of each row in the graph, the
#: best of 10, 15, 20, 25 and 50 for load_digits' 1,797 rows over twelve
#: seeds, and SMALL_DATA_NEIGHBORS up to SMALL_DATA_ROWS rows, where a
#: denser graph keeps apart the clusters of a grid search's folds of a few
#: hundred rows (the user guide's Choosing K, and docs/design_choices.md).
AUTO_NEIGHBORS = 15
SMALL_DATA_NEIGHBORS = 25
SMALL_DATA_ROWS = 250
#: learning_rate="auto": this Adam step size at 128 rows a minibatch (or
#: fewer), in proportion to larger minibatches up to twice that.
AUTO_LEARNING_RATE = 1e-3
AUTO_LEARNING_RATE_SCALE = 2.0
#: precision="auto": bfloat16 products (on a CPU that has them in hardware,
#: see skgmvae._utils.training_dtype) above this many rows, float32 up to
#: it, where a fit takes seconds and its steps are mostly fixed costs that
#: bfloat16 does not shorten.
MIXED_PRECISION_MIN_ROWS = 20_000


def layer_sizes(value):
    """The ``hidden_layer_sizes`` parameter as a tuple of ints.

    Parameters
    ----------
    value : int or sequence of int
        One layer width, or the width of each layer.

    Returns
    -------
    sizes : tuple of int

    Raises
    ------
    ValueError
        When the sequence is empty or an element is not an int >= 1.
    """
    sizes = (value,) if isinstance(value, Integral) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = ()
    if not sizes or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
        for s in sizes
    ):
        raise ValueError(
            "The 'hidden_layer_sizes' parameter of GMVAEClustering must be an int "
            "or a non-empty sequence of ints, each >= 1. Got "
            f"{value!r} instead."
        )
    return tuple(int(s) for s in sizes)


def _epochs(value, n_samples, rows, bounds):
    """``value``, or for "auto" the epochs over ``n_samples`` rows that pass
    about ``rows`` rows, within ``bounds``."""
    if value != "auto":
        return int(value)
    return int(np.clip(round(rows / max(n_samples, 1)), *bounds))


def pretrain_epochs(estimator, n_samples):
    """The number of pretraining epochs: ``pretrain_epochs``, or for "auto"
    the epochs that pass about ``AUTO_PRETRAIN_ROWS`` rows, within
    ``AUTO_PRETRAIN_EPOCHS``."""
    return _epochs(
        estimator.pretrain_epochs, n_samples, AUTO_PRETRAIN_ROWS, AUTO_PRETRAIN_EPOCHS
    )


def elbo_epochs(estimator, n_samples):
    """The most ELBO epochs of a call to fit: ``max_iter``, or for "auto"
    the epochs that pass about ``AUTO_ELBO_ROWS`` rows, within
    ``AUTO_ELBO_EPOCHS``."""
    return _epochs(estimator.max_iter, n_samples, AUTO_ELBO_ROWS, AUTO_ELBO_EPOCHS)


def batch_size(estimator, n_samples):
    """Rows per minibatch: ``batch_size``, or for "auto" the power of two
    nearest to ``n_samples / AUTO_BATCH_STEPS`` within ``AUTO_BATCH_SIZES``
    (128 up to about 23,000 rows, 256 above)."""
    if estimator.batch_size != "auto":
        return int(estimator.batch_size)
    low, high = AUTO_BATCH_SIZES
    size = 2 ** round(math.log2(max(n_samples / AUTO_BATCH_STEPS, 1)))
    return int(np.clip(size, low, high))


def n_neighbors(estimator, n_samples):
    """Neighbours of each row in the graph: ``n_neighbors``, or for "auto"
    ``SMALL_DATA_NEIGHBORS`` up to ``SMALL_DATA_ROWS`` rows and
    ``AUTO_NEIGHBORS`` above."""
    value = estimator.n_neighbors
    if not (isinstance(value, str) and value == "auto"):
        return int(value)
    return SMALL_DATA_NEIGHBORS if n_samples <= SMALL_DATA_ROWS else AUTO_NEIGHBORS


def learning_rate(estimator, batch):
    """Adam's step size: ``learning_rate``, or for "auto"
    ``AUTO_LEARNING_RATE`` up to 128 rows a minibatch, in proportion to
    larger ones up to ``AUTO_LEARNING_RATE_SCALE`` times that (2e-3 from 256
    rows)."""
    if estimator.learning_rate != "auto":
        return float(estimator.learning_rate)
    return AUTO_LEARNING_RATE * min(max(batch / 128, 1.0), AUTO_LEARNING_RATE_SCALE)


def precision(estimator, n_samples):
    """The ``precision`` of a fit on ``n_samples`` rows: "auto" stays "auto"
    (bfloat16 where the device has it, see
    :func:`skgmvae._utils.training_dtype`) above
    :data:`MIXED_PRECISION_MIN_ROWS` rows and is "float32" up to it."""
    value = estimator.precision
    if value == "auto" and n_samples <= MIXED_PRECISION_MIN_ROWS:
        return "float32"
    return value


def start_and_graph(estimator, n_samples):
    """``(init_params, graph_weight, hold_start)`` with "auto" resolved for
    ``n_samples`` rows (see :data:`NEIGHBOUR_MAX_ROWS`); ``hold_start``:
    whether the neighbour term may hold the start, which only
    ``graph_weight="auto"`` does."""
    small = n_samples <= NEIGHBOUR_MAX_ROWS
    init = estimator.init_params
    if isinstance(init, str) and init == "auto":
        init = SPECTRAL_OR_GAUSSIAN if small else "consensus"
    weight = estimator.graph_weight
    hold = isinstance(weight, str) and weight == "auto"
    if hold:
        weight = AUTO_GRAPH_WEIGHT if small else 0.0
    return init, float(weight), hold


def fit_params(estimator, n_samples, max_iter, learning_rate_decay, n_iter_no_change):
    """The :class:`FitParams` of a call to fit or partial_fit; ``max_iter``
    None takes the estimator's (see :func:`elbo_epochs`)."""
    est = estimator
    batch = batch_size(est, n_samples)
    init, weight, hold = start_and_graph(est, n_samples)
    # a call to fit (partial_fit runs one epoch a chunk) on large data
    latent = hold and max_iter is None and n_samples > NEIGHBOUR_MAX_ROWS
    return FitParams(
        max_iter=elbo_epochs(est, n_samples) if max_iter is None else int(max_iter),
        pretrain_epochs=pretrain_epochs(est, n_samples),
        batch_size=batch,
        learning_rate=learning_rate(est, batch),
        learning_rate_decay=learning_rate_decay,
        n_mc_samples=int(est.n_mc_samples),
        kl_warmup=int(est.kl_warmup),
        min_information=float(est.min_information),
        tol=float(est.tol),
        n_iter_no_change=n_iter_no_change,
        grow_from=None if est.grow_from is None else int(est.grow_from),
        init_params=init,
        graph_weight=weight,
        hold_start=hold,
        n_neighbors=n_neighbors(est, n_samples),
        choose_components=_auto_components(est),
        precision=precision(est, n_samples),
        latent_graph_epochs=LATENT_GRAPH_EPOCHS if latent else 0,
    )


def _auto_components(estimator):
    """Whether the fit chooses the number of components."""
    return isinstance(estimator.n_components, str) and estimator.n_components == "auto"


def net_config(estimator, n_features, n_samples=None):
    """The architecture of the networks that the parameters ask for; with
    ``n_components="auto"``, ``max_components`` components (at most
    ``n_samples``), which the start reduces to the number it chooses."""
    est = estimator
    if _auto_components(est):
        n_components = int(est.max_components)
        if n_samples is not None:
            n_components = min(n_components, n_samples)
    else:
        n_components = int(est.n_components)
    return dict(
        n_features=n_features,
        n_components=n_components,
        latent_dim=int(est.latent_dim),
        noise_dim=int(est.noise_dim),
        hidden_layer_sizes=layer_sizes(est.hidden_layer_sizes),
        prior_hidden=int(est.prior_hidden),
        likelihood=est.likelihood,
    )


def train(estimator, X, warm, n_init, sample_weight=None, **schedule):
    """Initialise (unless ``warm``) and run the ELBO epochs that
    ``schedule`` (``max_iter``, ``learning_rate_decay``,
    ``n_iter_no_change``) asks for; sets the fitted attributes.

    Rows whose ``sample_weight`` is 0 are left out of training (a copy of
    the other rows is made); the others count by their weight.
    """
    est = estimator
    min_rows = 1 if warm else 2
    X = validate(est, X, reset=not warm, min_samples=min_rows)
    rows, weights = check_weights(sample_weight, X, min_rows)
    X_train = X if rows is None else X[rows]
    if not warm:
        _check_n_components(est, X_train.shape[0])
    device = resolve_device(est.device, strict=True)
    params = fit_params(est, X_train.shape[0], **schedule)
    config = net_config(est, X.shape[1], X_train.shape[0])
    if warm and params.choose_components:
        # the number of components was chosen when the run began
        config["n_components"] = est._net_config["n_components"]
    if warm:
        runs = [_continued_run(est, config, device)]
    else:
        runs = _initialise(est, X_train, weights, config, n_init)
    tic = time.perf_counter()
    Xt = est._scaling.training_rows(X_train, device, weights)
    best, interrupted = _run_all(est, runs, Xt, params, device)
    del Xt
    _keep(est, best, warm)
    est.n_components_ = est._net.n_components
    est._net_config = {**est._net_config, "n_components": est.n_components_}
    est.labels_ = labels(est, X, validated=True)
    _report(est, best, runs, time.perf_counter() - tic)
    if not est.converged_ and params.n_iter_no_change is not None and not interrupted:
        warnings.warn(
            f"GMVAEClustering stopped at max_iter={params.max_iter} epochs "
            "before the ELBO stopped improving. Increase max_iter, or raise "
            "tol, for a converged fit.",
            ConvergenceWarning,
        )
    return est


def _continued_run(est, config, device):
    """The kept run, to continue: ``(seed, net, state)``."""
    if config != est._net_config:
        raise ValueError(
            f"warm_start=True and partial_fit continue the fitted networks, built with "
            f"{est._net_config}; the parameters now ask for {config}. Set "
            "them back, or set warm_start=False to fit from scratch."
        )
    return (est._train_seed, est._net.to(device), est._train_state)


def _check_n_components(est, n_samples):
    """Refuse more clusters than rows, and settings that cannot choose the
    number of clusters, for a fit from scratch."""
    if _auto_components(est):
        if est.pretrain_epochs == 0:
            raise ValueError(
                "n_components='auto' chooses the number of clusters on the "
                "pretrained embedding; set pretrain_epochs to 'auto' or an int "
                ">= 1, or give n_components as an int."
            )
        if est.grow_from is not None:
            raise ValueError(
                "grow_from needs an int n_components (the number of components "
                "to grow to); set grow_from=None with n_components='auto'."
            )
        return
    n_components = est.n_components
    if n_components > n_samples:
        raise ValueError(
            f"n_components={n_components} must be <= n_samples="
            f"{n_samples}: every cluster needs at least one row. Use "
            f"n_components={n_samples} or fewer, or more data."
        )


def _initialise(est, X, weights, config, n_init):
    """Scaling, architecture and seeds of a fit from scratch: ``n_init``
    fresh runs ``(seed, None, None)``."""
    est._scaling = Scaling.fit(X, est.likelihood, weights)
    est._net_config = config
    rng = check_random_state(est.random_state)
    seeds = rng.randint(0, 2**31 - 1, size=n_init)
    est._eval_seed = int(rng.randint(0, 2**31 - 1))
    return [(seed, None, None) for seed in seeds]


def _callbacks(est, params):
    """The callbacks of one run: the built-in ones, then the user's."""
    user = list(est.callbacks or [])
    for callback in user:
        if not isinstance(callback, Callback):
            raise TypeError(
                "callbacks must be a list of skgmvae.Callback instances; got "
                f"{callback!r}."
            )
    return default_callbacks(params, est.verbose) + user


def _run_all(est, runs, Xt, params, device):
    """Train every run in turn; returns the :class:`FitResult` with the
    best bound and whether Ctrl-C ended the loop (after the run it cut
    short)."""
    best = None
    for i, (seed, net, state) in enumerate(runs):
        if est.verbose and len(runs) > 1:
            print(f"Initialization {i + 1}/{len(runs)}", flush=True)
        if net is None:
            net = build_net(est._net_config, seed).to(device)
        trainer = Trainer(net, Xt, params, seed, _callbacks(est, params), state)
        n_weights = sum(p.numel() for p in net.parameters())
        threads = training_threads(n_weights, trainer.batch_size)
        with torch_threads(threads), flush_denormals():
            result = trainer.fit()
            # the bound that compares the runs, in the training's precision
            with mixed_precision(device, trainer.compute_dtype):
                bound = elbo_rows(
                    net, Xt, est._scaling, est._eval_seed, est.n_score_samples
                )
        est._net = net
        weights = None if Xt.weights is None else Xt.weights.double().cpu().numpy()
        result.bound = float(np.average(bound, weights=weights))
        if est.verbose and len(runs) > 1:
            print(f"Initialization {i + 1}/{len(runs)}: bound {result.bound:.4g}")
        if best is None or result.bound > best.bound or not np.isfinite(best.bound):
            best = result
        if result.interrupted:
            warnings.warn(
                f"Training was interrupted (initialization {i + 1} of "
                f"{len(runs)}, epoch {len(result.history)}); the model keeps the "
                "parameters reached so far (the best of the finished "
                "initializations) and can be used as is.",
                UserWarning,
            )
            break
    return best, result.interrupted


def _keep(est, best, warm):
    """Keep the run ``best``: its networks, state and results."""
    est._net = best.net
    est.lower_bound_ = best.bound
    est._train_state, est._train_seed = best.state, best.seed
    if warm:
        est.history_ = est.history_ + best.history
        est.n_iter_ += best.n_iter
    else:
        est.history_, est.n_iter_ = best.history, best.n_iter
    est.converged_ = bool(best.converged)


def _report(est, best, runs, seconds):
    """The last progress line of a fit, at ``verbose >= 1``."""
    if not est.verbose:
        return
    kept = ""
    if len(runs) > 1:
        kept = f"kept initialization {[r[0] for r in runs].index(best.seed) + 1}, "
    status = "converged" if est.converged_ else "not converged"
    print(
        f"GMVAEClustering: {kept}lower_bound_ {est.lower_bound_:.4g} after "
        f"{est.n_iter_} epochs ({status}), {seconds:.1f}s",
        flush=True,
    )
