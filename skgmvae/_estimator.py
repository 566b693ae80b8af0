"""GMVAEClustering: the scikit-learn surface of the Gaussian Mixture VAE."""

import copy
import dataclasses
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._init import INIT_METHODS
from ._model import build_net, init_seed_state, standard_normal
from ._callbacks import Callback, default_callbacks
from . import _data
from ._data import (
    Scaling,
    inference_blocks,
    plain_blocks,
    validate,
)
from ._train import FitParams, Trainer, iter_batches
from ._utils import resolve_device, thread_limit, torch_threads

#: Version of the pickled state; bumped when the stored layout changes.
PICKLE_FORMAT = 3

#: Gradient steps that pretrain_epochs="auto" aims for, and its epoch bounds.
AUTO_PRETRAIN_STEPS = 20_000
AUTO_PRETRAIN_EPOCHS = (2, 100)



class _Range(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` that refuses
    booleans: ``True`` is neither a number of epochs nor a step size."""

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


_POSITIVE_INT = _Range(Integral, 1, None, closed="left")
_NON_NEGATIVE_INT = _Range(Integral, 0, None, closed="left")
_NON_NEGATIVE_REAL = _Range(Real, 0, None, closed="left")


def _layer_sizes(value):
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


def _to_cpu(obj):
    """Deep copy of nested dicts/lists/dataclasses with every tensor moved to
    the CPU."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        return dataclasses.replace(
            obj, **{f.name: _to_cpu(getattr(obj, f.name)) for f in fields}
        )
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


class GMVAEClustering(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """Deep clustering with a Gaussian Mixture Variational Autoencoder.

    The model of Dilokthanakul et al. (2016): a latent ``x`` whose prior is a
    mixture of ``n_components`` Gaussians whose means and variances are
    produced by a network from a second latent ``w ~ N(0, I)``; a decoder maps
    ``x`` to the data. Clusters are the mixture components, so they can take
    any shape in the input space. Fitting maximises the evidence lower bound
    (ELBO) with Adam, after a short autoencoder pretraining whose embedding
    initialises the mixture.

    Parameters
    ----------
    n_components : int, default=10
        Number of clusters ``K`` (mixture components).

    latent_dim : int, default=10
        Dimension of the continuous latent ``x``; also the number of columns
        returned by :meth:`transform`.

    noise_dim : int, default=4
        Dimension of the latent ``w`` that drives the prior network.

    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Widths of the encoder's hidden layers (an int: one layer); the decoder
        mirrors them.

    prior_hidden : int, default=64
        Width of the prior network's hidden (tanh) layer.

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Observation model. ``"gaussian"`` works on any real data: features
        are standardised internally and :meth:`score_samples` is reported in
        the original units. ``"bernoulli"`` needs data in [0, 1] (images).

    n_mc_samples : int, default=1
        Monte Carlo samples ``M`` of ``(x, w)`` per row and step.

    min_information : float, default=0.5
        Minimum information constraint ``λ`` in nats: the z-prior KL term is
        replaced by ``max(λ, KL_z)`` on the minibatch mean, so the assignments
        are not pushed towards uniform while they carry less than ``λ`` nats.
        0 gives the plain ELBO.

    kl_warmup : int, default=10
        Number of ELBO epochs over which the weight of the KL terms rises
        linearly from ``1/kl_warmup`` to 1. 0 disables warm-up.

    pretrain_epochs : int or "auto", default="auto"
        Epochs of deterministic autoencoder training before the ELBO phase;
        the mixture then starts at the means and variances of ``n_components``
        clusters of the embedding (see ``init_params``). 0 skips both. "auto" runs about 20,000 minibatch
        steps, within 2 to 100 epochs: 100 epochs for up to about 25,600
        rows at the default batch size, fewer above.

    init_params : {"consensus", "gmm"} or callable, default="consensus"
        How the mixture starts on the pretrained embedding (the posterior
        means of ``x``). ``"consensus"``: the means and variances of the
        clusters on which 20 KMeans over-clusterings agree (evidence
        accumulation), which follow curved, connected groups; a diagonal
        Gaussian mixture instead where the rows are too few for it (fewer
        than ``100 * n_components``, or more than 50 components).
        ``"gmm"``: a diagonal ``GaussianMixture`` fitted on the embedding
        (the start of VaDE). A callable ``init_params(embedding,
        n_components, seed)`` gets the embedding (float64, at most 100,000
        rows) and returns the means and variances, each of shape
        ``(n_components, latent_dim)``. Ignored when ``pretrain_epochs=0``.

    grow_from : int or None, default=None
        Coarse-to-fine training for many components. When it is an int below
        ``n_components``, the mixture starts with ``grow_from`` components,
        trains them for the first ``max_iter // 2`` ELBO epochs, then splits
        each into as many new components as its share of the rows (at least
        one for each component that holds rows; one that holds none is
        dropped), one for each KMeans cluster of its rows' embedding: a new
        component is a copy of its parent, moved to its cluster and with the
        cluster's variance, that keeps how the parent moves with ``w``. Then
        it restarts the Adam optimiser and trains the ``n_components``
        components for the remaining epochs. The fine components refine the
        coarse clusters instead of cutting the embedding afresh, at the same
        cost. None, or a value of at least
        ``n_components`` (handy in a search over ``n_components``), trains
        ``n_components`` components from the start. Early stopping waits for
        the split. The split belongs to a fit from scratch: a ``warm_start``
        continuation goes on with the split mixture, the first
        :meth:`partial_fit` call, which runs one epoch, splits right after
        pretraining, and a fit interrupted (Ctrl-C) before the split splits
        on its way out, so the model always has ``n_components`` components.
        The user guide (Training, "Many clusters: growing from fewer")
        discusses when it helps.

    max_iter : int, default=100
        Maximum number of ELBO epochs (full passes over the data).

    batch_size : int, default=128
        Rows per minibatch.

    learning_rate : float, default=1e-3
        Adam step size.

    learning_rate_decay : float in [0, 1), default=0.0
        Share of the ELBO epochs of each call to :meth:`fit`, at its end, over
        which the step size falls linearly from ``learning_rate`` towards
        zero: with ``max_iter=100`` and 0.5, epochs 1 to 50 use
        ``learning_rate`` and epoch ``50 + i`` uses ``learning_rate * (51 -
        i) / 51``. 0 keeps the step size constant. The decay follows
        ``max_iter``, not the epoch early stopping ends on, and a
        ``warm_start`` continuation starts again from ``learning_rate``;
        :meth:`partial_fit` keeps it constant. The user guide
        (Training, "Stopping and restarts") discusses its effect.

    tol : float, default=1e-4
        Relative ELBO improvement that counts as progress for early stopping.

    n_iter_no_change : int or None, default=10
        Stop when the epoch ELBO has not improved by ``tol`` for this many
        epochs after warm-up. None trains for ``max_iter`` epochs.

    n_init : int, default=1
        Number of independent fits; the one with the best ELBO is kept.

    n_score_samples : int, default=16
        Importance samples per row used by :meth:`score_samples` and to rank
        the ``n_init`` fits.

    device : str or torch.device, default="cpu"
        Torch device for training: ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
        ``"mps"`` or ``"auto"``. A fitted model predicts on the CPU where the
        device is missing (a GPU-fitted model loads on a CPU-only machine).

    random_state : int, RandomState instance or None, default=None
        Seed of the weights, batch order and Monte Carlo draws. An int gives
        identical results from run to run on the same device.

    verbose : int, default=0
        Progress on stdout. 0 prints nothing. 1 prints one line per ELBO
        epoch (epoch, ELBO and its four terms, elapsed time, estimated time
        left), one line summing up pretraining and a last line with
        ``lower_bound_``. 2 also prints every pretraining epoch. The epoch
        lines are those of ``history_``: with the Gaussian likelihood they are
        on the standardised data, while ``lower_bound_`` is in the units of
        ``X``.

    warm_start : bool, default=False
        When True and the model is already fitted, ``fit`` continues training
        the kept model for up to ``max_iter`` more ELBO epochs, exactly where
        it stopped (optimiser state, random stream, warm-up and early-stopping
        counters): on the CPU, ``max_iter=5`` twice gives the same model as
        ``max_iter=10`` once (with ``learning_rate_decay=0`` and
        ``grow_from=None``; otherwise each call anneals its own epochs, and
        the first one splits the mixture halfway through its own). The data
        must have the same features; the architecture parameters and
        ``random_state`` are those of the first fit. Otherwise ``fit`` starts
        from scratch.

    callbacks : list of Callback or None, default=None
        Objects notified around each epoch of training, after the built-in
        ones (KL warm-up, step-size schedule, rollback, ``grow_from`` split,
        early stopping, history, progress output): instances of subclasses of
        :class:`skgmvae.Callback` that override the hooks they need
        (``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end``,
        ``on_train_end`` and others, see :class:`skgmvae.Callback`). Each hook
        gets the running trainer, whose ``net``, ``optimizer``, ``state``,
        ``history`` and ``kl_weight`` it may read or change; setting
        ``trainer.converged = True`` in ``on_epoch_end`` stops training after
        that epoch. The same instances see every run of ``n_init``.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.

    lower_bound_ : float
        Mean ELBO per row on the training data of the kept fit.

    n_iter_ : int
        ELBO epochs run by the kept fit.

    converged_ : bool
        Whether early stopping ended the kept fit before ``max_iter``.

    history_ : list of dict
        One record per epoch of the kept fit: ``phase`` ("pretrain" or
        "elbo"), ``epoch``, ``elbo``, ``reconstruction``,
        ``conditional_prior``, ``w_prior``, ``z_prior``, ``kl_weight``,
        ``time`` (seconds). An epoch whose loss became non-finite is undone
        and run again with a ten times smaller step (at most 3 times, then
        fit raises ``FloatingPointError``); each such event adds a record
        with ``phase="rollback"``, ``epoch`` and the new ``learning_rate``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.cluster.KMeans : Centroid clustering in the input space.
    sklearn.mixture.GaussianMixture : Gaussian mixture in the input space.

    References
    ----------
    N. Dilokthanakul, P. A. M. Mediano, M. Garnelo, M. C. H. Lee,
    H. Salimbeni, K. Arulkumaran, M. Shanahan. "Deep Unsupervised Clustering
    with Gaussian Mixture Variational Autoencoders", arXiv:1611.02648, 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAEClustering
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = GMVAEClustering(n_components=10, max_iter=5, random_state=0)
    >>> labels = model.fit_predict(X)
    >>> labels.shape
    (1797,)
    """

    _parameter_constraints: dict = {
        "n_components": [_POSITIVE_INT],
        "latent_dim": [_POSITIVE_INT],
        "noise_dim": [_POSITIVE_INT],
        "hidden_layer_sizes": ["array-like", _POSITIVE_INT],
        "prior_hidden": [_POSITIVE_INT],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "n_mc_samples": [_POSITIVE_INT],
        "min_information": [_NON_NEGATIVE_REAL],
        "kl_warmup": [_NON_NEGATIVE_INT],
        "pretrain_epochs": [_NON_NEGATIVE_INT, StrOptions({"auto"})],
        "init_params": [StrOptions(set(INIT_METHODS)), callable],
        "grow_from": [_POSITIVE_INT, None],
        "max_iter": [_POSITIVE_INT],
        "batch_size": [_POSITIVE_INT],
        "learning_rate": [_Range(Real, 0, None, closed="neither")],
        "learning_rate_decay": [_Range(Real, 0, 1, closed="left")],
        "tol": [_NON_NEGATIVE_REAL],
        "n_iter_no_change": [_POSITIVE_INT, None],
        "n_init": [_POSITIVE_INT],
        "n_score_samples": [_POSITIVE_INT],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        n_components=10,
        *,
        latent_dim=10,
        noise_dim=4,
        hidden_layer_sizes=(256, 256),
        prior_hidden=64,
        likelihood="gaussian",
        n_mc_samples=1,
        min_information=0.5,
        kl_warmup=10,
        pretrain_epochs="auto",
        init_params="consensus",
        grow_from=None,
        max_iter=100,
        batch_size=128,
        learning_rate=1e-3,
        learning_rate_decay=0.0,
        tol=1e-4,
        n_iter_no_change=10,
        n_init=1,
        n_score_samples=16,
        device="cpu",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.n_components = n_components
        self.latent_dim = latent_dim
        self.noise_dim = noise_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.prior_hidden = prior_hidden
        self.likelihood = likelihood
        self.n_mc_samples = n_mc_samples
        self.min_information = min_information
        self.kl_warmup = kl_warmup
        self.pretrain_epochs = pretrain_epochs
        self.init_params = init_params
        self.grow_from = grow_from
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.n_init = n_init
        self.n_score_samples = n_score_samples
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    # ------------------------------------------------------------------
    # validation
    # ------------------------------------------------------------------
    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the GMVAE to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Float32 input is used as is.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : GMVAEClustering
            The fitted estimator.
        """
        warm = bool(self.warm_start) and self._is_trained()
        return self._train(
            X,
            warm,
            n_init=self.n_init,
            max_iter=int(self.max_iter),
            learning_rate_decay=float(self.learning_rate_decay),
            n_iter_no_change=self.n_iter_no_change,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one chunk of rows: for data that does not fit in memory.

        The first call initialises the model on its chunk (standardisation,
        autoencoder pretraining for ``pretrain_epochs``, the mixture
        initialisation) and runs one ELBO epoch over it; every later call
        runs one ELBO epoch over its chunk, continuing the optimiser, the
        random stream and the KL warm-up, which counts calls
        (``kl_warmup=10`` ramps the KL weight over the first 10 calls). Make
        the first chunk large and representative, since the scaling and the
        mixture are set from it; ``n_init`` is ignored. Early stopping does
        not apply: the caller decides how many passes to make. ``labels_``
        and ``lower_bound_`` refer to the last chunk.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training rows.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : GMVAEClustering
            The updated estimator.
        """
        return self._train(
            X,
            self._is_trained(),
            n_init=1,
            max_iter=1,
            learning_rate_decay=0.0,
            n_iter_no_change=None,
        )

    def _is_trained(self):
        """Whether there is a run to continue."""
        return hasattr(self, "_train_state")

    def _train(self, X, warm, n_init, **schedule):
        """Initialise (unless ``warm``) and run the ELBO epochs that
        ``schedule`` (``max_iter``, ``learning_rate_decay``,
        ``n_iter_no_change``) asks for; shared by fit and partial_fit."""
        X = validate(self, X, reset=not warm, min_samples=1 if warm else 2)
        if not warm:
            self._check_n_components(X.shape[0])
        device = resolve_device(self.device, strict=True)
        params = self._fit_params(X.shape[0], **schedule)
        config = self._config(X)
        if warm:
            runs = [self._continued_run(config, device)]
        else:
            runs = self._initialise(X, config, n_init)
        tic = time.perf_counter()
        with torch_threads(thread_limit()):
            Xt = self._scaling.training_rows(X, device)
            best, interrupted = self._run_all(runs, Xt, params, device)
            del Xt
            self._keep(best, warm)
            self.labels_ = self._labels(X, validated=True)
        self._report(best, runs, time.perf_counter() - tic)
        if (
            not self.converged_
            and params.n_iter_no_change is not None
            and not interrupted
        ):
            warnings.warn(
                f"GMVAEClustering stopped at max_iter={self.max_iter} epochs "
                "before the ELBO stopped improving. Increase max_iter, or raise "
                "tol, for a converged fit.",
                ConvergenceWarning,
            )
        return self

    def _fit_params(self, n_samples, max_iter, learning_rate_decay, n_iter_no_change):
        return FitParams(
            max_iter=max_iter,
            pretrain_epochs=self._pretrain_epochs(n_samples),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            learning_rate_decay=learning_rate_decay,
            n_mc_samples=int(self.n_mc_samples),
            kl_warmup=int(self.kl_warmup),
            min_information=float(self.min_information),
            tol=float(self.tol),
            n_iter_no_change=n_iter_no_change,
            grow_from=None if self.grow_from is None else int(self.grow_from),
            init_params=self.init_params,
        )

    def _config(self, X):
        """The architecture of the networks that the parameters ask for."""
        return dict(
            n_features=X.shape[1],
            n_components=int(self.n_components),
            latent_dim=int(self.latent_dim),
            noise_dim=int(self.noise_dim),
            hidden_layer_sizes=_layer_sizes(self.hidden_layer_sizes),
            prior_hidden=int(self.prior_hidden),
            likelihood=self.likelihood,
        )

    def _continued_run(self, config, device):
        """The kept run, to continue: ``(seed, net, state)``."""
        if config != self._net_config:
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted networks, built with "
                f"{self._net_config}; the parameters now ask for {config}. Set "
                "them back, or set warm_start=False to fit from scratch."
            )
        return (self._train_seed, self._net.to(device), self._train_state)

    def _check_n_components(self, n_samples):
        """Refuse more clusters than rows for a fit from scratch."""
        if self.n_components > n_samples:
            raise ValueError(
                f"n_components={self.n_components} must be <= n_samples="
                f"{n_samples}: every cluster needs at least one row. Use "
                f"n_components={n_samples} or fewer, or more data."
            )

    def _initialise(self, X, config, n_init):
        """Scaling, architecture and seeds of a fit from scratch: ``n_init``
        fresh runs ``(seed, None, None)``."""
        self._scaling = Scaling.fit(X, self.likelihood)
        self._net_config = config
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=n_init)
        self._eval_seed = int(rng.randint(0, 2**31 - 1))
        return [(seed, None, None) for seed in seeds]

    def _callbacks(self, params):
        """The callbacks of one run: the built-in ones, then the user's."""
        user = list(self.callbacks or [])
        for callback in user:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "callbacks must be a list of skgmvae.Callback instances; got "
                    f"{callback!r}."
                )
        return default_callbacks(params, self.verbose) + user

    def _run_all(self, runs, Xt, params, device):
        """Train every run in turn; returns the :class:`FitResult` with the
        best bound and whether Ctrl-C ended the loop (after the run it cut
        short)."""
        best = None
        for i, (seed, net, state) in enumerate(runs):
            if self.verbose and len(runs) > 1:
                print(f"Initialization {i + 1}/{len(runs)}", flush=True)
            if net is None:
                net = build_net(self._net_config, seed).to(device)
            trainer = Trainer(net, Xt, params, seed, self._callbacks(params), state)
            result = trainer.fit()
            self._net = net
            result.bound = float(np.mean(self._elbo_rows(Xt)))
            if self.verbose and len(runs) > 1:
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

    def _keep(self, best, warm):
        """Keep the run ``best``: its networks, state and results."""
        self._net = best.net
        self.lower_bound_ = best.bound
        self._train_state, self._train_seed = best.state, best.seed
        if warm:
            self.history_ = self.history_ + best.history
            self.n_iter_ += best.n_iter
        else:
            self.history_, self.n_iter_ = best.history, best.n_iter
        self.converged_ = bool(best.converged)

    def _report(self, best, runs, seconds):
        """The last progress line of a fit, at ``verbose >= 1``."""
        if not self.verbose:
            return
        kept = ""
        if len(runs) > 1:
            kept = f"kept initialization {[r[0] for r in runs].index(best.seed) + 1}, "
        status = "converged" if self.converged_ else "not converged"
        print(
            f"GMVAEClustering: {kept}lower_bound_ {self.lower_bound_:.4g} after "
            f"{self.n_iter_} epochs ({status}), {seconds:.1f}s",
            flush=True,
        )

    def _pretrain_epochs(self, n_samples):
        if self.pretrain_epochs != "auto":
            return int(self.pretrain_epochs)
        steps_per_epoch = -(-n_samples // min(self.batch_size, n_samples))
        low, high = AUTO_PRETRAIN_EPOCHS
        return int(np.clip(round(AUTO_PRETRAIN_STEPS / steps_per_epoch), low, high))

    def _inference_net(self):
        """A float64 copy of the networks in eval mode on the inference device.

        Inference runs in float64 so that a row's result does not depend on
        the other rows of its block (float32 matrix products round
        differently with the block size).
        """
        device = resolve_device(self.device, strict=False)
        net = copy.deepcopy(self._net).to(device=device, dtype=torch.float64)
        net.eval()
        return net, device

    def _map_blocks(self, X, fn, validated=False):
        """Validate ``X`` (unless ``validated``) and apply
        ``fn(net, tensor_block)`` to blocks of its rows. Returns the stacked
        numpy results and the dtype of the validated input. Memory stays
        bounded by the block size."""
        net, device = self._inference_net()
        if validated:
            n_rows, blocks = plain_blocks(X)
        else:
            n_rows, blocks = inference_blocks(self, X)
        out, dtype, start = None, None, 0
        with torch.no_grad(), torch_threads(thread_limit()):
            for block in blocks:
                dtype = block.dtype
                result = fn(net, self._scaling.tensor(block, device, torch.float64)).cpu()
                if out is None:  # one array for all rows, filled in place
                    out = np.empty((n_rows, *result.shape[1:]), result.numpy().dtype)
                out[start : start + len(block)] = result.numpy()
                start += len(block)
        return out, dtype

    @staticmethod
    def _logits(net, y):
        return net.component_logits(y)[1]

    def _predict_proba_array(self, X):
        logits = self._map_blocks(X, self._logits)[0]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def _noise_for(self, net, y):
        """The model's fixed noise, shared by every row (deterministic and
        row-independent), on ``y``'s device and dtype."""
        gen = init_seed_state(self._eval_seed)
        shape = (self.n_score_samples, 1, net.latent_dim + net.noise_dim)
        noise = standard_normal(shape, gen, "cpu", torch.float64)
        return noise.to(device=y.device, dtype=y.dtype)

    def _elbo_rows(self, Xt):
        """Per-row ELBO of the training tensor ``Xt`` with the fixed noise."""
        net = self._net
        net.eval()
        out = np.empty(Xt.shape[0])
        with torch.no_grad():
            for idx in iter_batches(Xt.shape[0], self._sampled_block()):
                y = Xt[idx.to(Xt.device)]
                terms = net.elbo_terms(y, self._noise_for(net, y))
                # written into one preallocated array: small per-block arrays
                # kept alive between the large temporaries fragment the heap
                out[idx.numpy()] = terms["elbo"].cpu().numpy()
        return out - self._scaling.log_det

    def _sampled_block(self):
        """Rows per block where each row gets ``n_score_samples`` draws, so
        that the (draws, rows, components, latent_dim) temporaries stay as
        small as those of a plain block."""
        return max(1, _data.INFERENCE_BATCH // self.n_score_samples)

    def _iwae_rows(self, net, y):
        outs = [
            net.log_evidence(rows, self._noise_for(net, rows))
            for rows in y.split(self._sampled_block())
        ]
        return torch.cat(outs)

    def predict_proba(self, X):
        """Posterior probability of each cluster, ``p(z | y)``.

        Evaluated at the posterior means of ``x`` and ``w``, so the result is
        deterministic and each row's value does not depend on the others.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_components)
            Rows sum to 1.
        """
        check_is_fitted(self)
        return self._predict_proba_array(X)

    def predict(self, X):
        """Most probable cluster of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster, the argmax of :meth:`predict_proba`.
        """
        check_is_fitted(self)
        return self._labels(X)

    def _labels(self, X, validated=False):
        # argmax block by block: no (n_samples, n_components) array is kept
        labels = self._map_blocks(
            X, lambda net, y: self._logits(net, y).argmax(-1), validated
        )[0]
        return labels.astype(np.intp, copy=False)

    def fit_predict(self, X, y=None):
        """Fit the model and return the cluster of each training row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Equal to ``labels_``.
        """
        return self.fit(X).labels_

    def transform(self, X):
        """Embed ``X`` in the latent space: the posterior mean of ``x``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, latent_dim)
            Same floating dtype as the validated input.
        """
        check_is_fitted(self)
        out, dtype = self._map_blocks(X, lambda net, y: net.encode(y)[0])
        return out.astype(dtype, copy=False)

    def score_samples(self, X):
        """Estimate ``log p(y)`` of each row.

        An importance-weighted lower bound (IWAE) with ``n_score_samples``
        draws, in the units of ``X`` (the internal standardisation is
        accounted for). The draws are fixed per fitted model, so the result
        is deterministic and row-independent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._map_blocks(X, self._iwae_rows)[0] - self._scaling.log_det

    def score(self, X, y=None):
        """Mean estimated log-likelihood per row (see :meth:`score_samples`).

        It grows with ``n_components``: to choose the number of clusters,
        score a search with :func:`skgmvae.model_selection.bic_score`
        instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        log_likelihood : float
        """
        return float(self.score_samples(X).mean())

    def sample(self, n_samples=1):
        """Draw rows from the fitted generative model.

        ``w ~ N(0, I)``, a uniform cluster ``z``, ``x ~ p(x | w, z)`` and
        ``y ~ p(y | x)`` (Gaussian draw, or Bernoulli draw in {0, 1}).

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Generated rows in the units of the training data.
        labels : ndarray of shape (n_samples,)
            Cluster each row was drawn from.
        """
        check_is_fitted(self)
        if (
            not isinstance(n_samples, Integral)
            or isinstance(n_samples, bool)
            or n_samples < 1
        ):
            raise ValueError(
                "The 'n_samples' parameter of GMVAEClustering.sample must be an "
                f"int >= 1. Got {n_samples!r} instead."
            )
        net, device = self._inference_net()
        rng = check_random_state(self.random_state)
        gen = init_seed_state(rng.randint(0, 2**31 - 1))
        with torch.no_grad(), torch_threads(thread_limit()):
            out, labels = net.generate(n_samples, gen)
        out = out.cpu().numpy()
        out = self._scaling.unscale(out)
        return out, labels.numpy()

    # ------------------------------------------------------------------
    # sklearn plumbing
    # ------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.latent_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags

    def __getstate__(self):
        state = dict(super().__getstate__())
        net = state.pop("_net", None)
        if net is not None:
            state["_net_state"] = _to_cpu(dict(net.state_dict()))
        if "_train_state" in state:
            state["_train_state"] = _to_cpu(state["_train_state"])
        state["_pickle_format"] = PICKLE_FORMAT
        return state

    def __setstate__(self, state):
        fmt = state.pop("_pickle_format", None)
        if fmt != PICKLE_FORMAT:
            raise ValueError(
                f"This GMVAEClustering was saved in pickle format {fmt!r}; this "
                f"version of skgmvae reads format {PICKLE_FORMAT}. Refit the model "
                "with the installed version, or load it with the version that "
                "saved it."
            )
        net_state = state.pop("_net_state", None)
        super().__setstate__(state)
        if net_state is not None:
            net = build_net(self._net_config, 0)
            net.load_state_dict(net_state)
            net.eval()
            self._net = net
