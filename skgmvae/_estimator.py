"""GMVAEClustering: the scikit-learn surface of the Gaussian Mixture VAE."""

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
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _inference, _persist
from ._fitting import train
from ._init import INIT_METHODS
from ._utils import PRECISIONS



class _Range(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` that refuses
    booleans: ``True`` is neither a number of epochs nor a step size."""

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


_POSITIVE_INT = _Range(Integral, 1, None, closed="left")
_NON_NEGATIVE_INT = _Range(Integral, 0, None, closed="left")
_NON_NEGATIVE_REAL = _Range(Real, 0, None, closed="left")


class GMVAEClustering(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """Deep clustering with a Gaussian Mixture Variational Autoencoder.

    The model of Dilokthanakul et al. (2016): a latent ``x`` whose prior is a
    mixture of ``n_components`` Gaussians whose means and variances are
    produced by a network from a second latent ``w ~ N(0, I)``; a decoder maps
    ``x`` to the data. Clusters are the mixture components, so they can take
    any shape in the input space. Fitting maximises the evidence lower bound
    (ELBO) with Adam after an autoencoder pretraining that starts the mixture.

    Parameters
    ----------
    n_components : int or "auto", default=10
        Number of clusters ``K``; "auto" chooses it, up to ``max_components``,
        from the embedding's graph (user guide, Choosing the number of clusters).

    max_components : int, default=20
        Upper bound of ``K`` with ``n_components="auto"``.

    latent_dim : int, default=10
        Dimension of the continuous latent ``x``: the columns of :meth:`transform`.

    noise_dim : int, default=4
        Dimension of the latent ``w`` that drives the prior network.

    hidden_layer_sizes : int or tuple of int, default=(256, 256)
        Widths of the encoder's hidden layers (an int: one layer); the decoder
        mirrors them.

    prior_hidden : int, default=64
        Width of the prior network's hidden (tanh) layer.

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Observation model. ``"gaussian"`` works on any real data, sparse
        TF-IDF included: features are standardised internally and
        :meth:`score_samples` is reported in the original units.
        ``"bernoulli"`` needs data in [0, 1] (images), not TF-IDF (user
        guide, "Sparse input and text").

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
        Epochs of autoencoder training before the ELBO phase, whose embedding
        starts the mixture (see ``init_params``); 0 skips both. "auto" passes
        about 1.4 million rows, within 2 to 100 epochs: 100 for up to 14,000
        rows, 20 for 70,000.

    init_params : {"auto", "spectral", "gaussian", "umap", "checked", "consensus", "gmm"} or callable, default="auto"
        The start (user guide, Training): spectral clustering of the embedding's graph (the
        input's for "auto"/"gaussian" up to ``latent_dim`` features or if less leaky), a full GMM of the
        input ("gaussian") or of a UMAP layout, "checked", a KMeans consensus, a diagonal GMM,
        or a callable ``(embedding, K, seed) -> (means, variances)``; "auto": "spectral" (refined
        by an input GMM), "gaussian" if it touches (input KMeans if refused), "consensus" >20k rows.

    graph_weight : float or "auto", default="auto"
        Weight of the neighbour term (user guide, Training). 0: the plain ELBO;
        "auto": 1.0 up to 20,000 rows (3.0 or 30.0 holding a clean start), 0
        above but 3.0 on the trained model's graph in a fit's last 3 epochs.

    n_neighbors : int or "auto", default="auto"
        Neighbours of each row in the graphs of the start and of the
        neighbour term. "auto": 25 up to 250 rows, 15 above.

    grow_from : int or None, default=None
        When below ``n_components``: train ``grow_from`` components for the
        first ``max_iter // 2`` epochs, then split them into ``n_components``
        (user guide, Training, "Many clusters: growing from fewer").

    max_iter : int or "auto", default="auto"
        Most ELBO epochs. "auto": 100 up to 35,000 rows, then about 3.5
        million rows' worth (50 for 70,000, at least 10; user guide, Training).

    batch_size : int or "auto", default="auto"
        Rows per minibatch. "auto": 128 up to about 23,000 rows, 256 above.

    learning_rate : float or "auto", default="auto"
        Adam step size. "auto": 1e-3 up to 128 rows a minibatch, in
        proportion to larger ones up to 2e-3 (from 256 rows).

    learning_rate_decay : float in [0, 1), default=0.0
        Share of the ELBO epochs of each call to :meth:`fit`, at its end, over
        which the step size falls linearly towards zero (following
        ``max_iter``). 0 keeps it constant, as does :meth:`partial_fit`.

    tol : float, default=1e-4
        Relative ELBO change that counts, for early stopping and for going back to the best epoch.

    n_iter_no_change : int or None, default=10
        Stop when the epoch ELBO has not gained ``tol`` for this many epochs
        after warm-up. None trains for ``max_iter`` epochs.

    n_init : int, default=1
        Number of independent fits; the one with the best ELBO is kept.

    n_score_samples : int, default=16
        Draws per row of :meth:`score_samples` and, at most, of ``lower_bound_``.

    device : str or torch.device, default="cpu"
        Torch device for training: ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
        ``"mps"`` or ``"auto"``. A model loads on the CPU where it is missing.

    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Dtype of the networks' matrix products while training (weights, Adam
        and the bound's terms stay float32; inference runs in float64). "auto": bfloat16 above 20,000
        rows on a CPU that has it in hardware (AVX-512 BF16, AMX), else
        float32 (user guide, Training, "Mixed precision").

    random_state : int, RandomState instance or None, default=None
        Seed of every draw; an int gives identical results on one device.

    verbose : int, default=0
        0 prints nothing; 1 one line per ELBO epoch, a summary of pretraining
        and ``lower_bound_``; 2 also every pretraining epoch.

    warm_start : bool, default=False
        When True, ``fit`` continues a fitted model exactly where it stopped,
        for up to ``max_iter`` more epochs; the architecture must not change.

    callbacks : list of Callback or None, default=None
        :class:`skgmvae.Callback` instances notified around each epoch after
        the built-in ones; a hook may read or change the running trainer.

    Attributes
    ----------
    n_components_ : int
        Number of clusters: ``n_components``, or the number "auto" chose.

    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.

    lower_bound_ : float
        Mean ELBO per row on the training data of the kept fit.

    n_iter_ : int
        ELBO epochs run by the kept fit.

    converged_ : bool
        Whether early stopping ended the kept fit before ``max_iter``.

    history_ : list of dict
        One record per epoch of the kept fit (``phase``, ``epoch``, ``elbo``, its
        terms, ``kl_weight``, ``time``), and of events: ``"rollback"``, ``"best"``.

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
        "n_components": [_POSITIVE_INT, StrOptions({"auto"})],
        "max_components": [_Range(Integral, 2, None, closed="left")],
        "latent_dim": [_POSITIVE_INT],
        "noise_dim": [_POSITIVE_INT],
        "hidden_layer_sizes": ["array-like", _POSITIVE_INT],
        "prior_hidden": [_POSITIVE_INT],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "n_mc_samples": [_POSITIVE_INT],
        "min_information": [_NON_NEGATIVE_REAL],
        "kl_warmup": [_NON_NEGATIVE_INT],
        "pretrain_epochs": [_NON_NEGATIVE_INT, StrOptions({"auto"})],
        "init_params": [StrOptions({"auto", *INIT_METHODS}), callable],
        "graph_weight": [_NON_NEGATIVE_REAL, StrOptions({"auto"})],
        "n_neighbors": [_POSITIVE_INT, StrOptions({"auto"})],
        "grow_from": [_POSITIVE_INT, None],
        "max_iter": [_POSITIVE_INT, StrOptions({"auto"})],
        "batch_size": [_POSITIVE_INT, StrOptions({"auto"})],
        "learning_rate": [_Range(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "learning_rate_decay": [_Range(Real, 0, 1, closed="left")],
        "tol": [_NON_NEGATIVE_REAL],
        "n_iter_no_change": [_POSITIVE_INT, None],
        "n_init": [_POSITIVE_INT],
        "n_score_samples": [_POSITIVE_INT],
        "device": [str, torch.device],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        n_components=10,
        *,
        max_components=20,
        latent_dim=10,
        noise_dim=4,
        hidden_layer_sizes=(256, 256),
        prior_hidden=64,
        likelihood="gaussian",
        n_mc_samples=1,
        min_information=0.5,
        kl_warmup=10,
        pretrain_epochs="auto",
        init_params="auto",
        graph_weight="auto",
        n_neighbors="auto",
        grow_from=None,
        max_iter="auto",
        batch_size="auto",
        learning_rate="auto",
        learning_rate_decay=0.0,
        tol=1e-4,
        n_iter_no_change=10,
        n_init=1,
        n_score_samples=16,
        device="cpu",
        precision="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        self.n_components = n_components
        self.max_components = max_components
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
        self.graph_weight = graph_weight
        self.n_neighbors = n_neighbors
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
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the GMVAE to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Float32 input is used as is.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row (user guide, Training, "Weighted
            rows"); rows of weight 0 are left out of training.

        Returns
        -------
        self : GMVAEClustering
            The fitted estimator.
        """
        warm = bool(self.warm_start) and self._is_trained()
        return train(
            self,
            X,
            warm,
            sample_weight=sample_weight,
            n_init=self.n_init,
            max_iter=None,
            learning_rate_decay=float(self.learning_rate_decay),
            n_iter_no_change=self.n_iter_no_change,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train on one chunk of rows: for data that does not fit in memory.

        The first call initialises the model on its chunk (scaling,
        pretraining, the mixture's start) and runs one ELBO epoch; each later
        call runs one ELBO epoch over its chunk, continuing the optimiser,
        the random stream and the KL warm-up (which counts calls). Make the
        first chunk large and representative. ``n_init``, early stopping and
        ``learning_rate_decay`` do not apply; ``labels_`` and
        ``lower_bound_`` refer to the last chunk.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            One chunk of training rows.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of the chunk, as in :meth:`fit`.

        Returns
        -------
        self : GMVAEClustering
            The updated estimator.
        """
        return train(
            self,
            X,
            self._is_trained(),
            sample_weight=sample_weight,
            n_init=1,
            max_iter=1,
            learning_rate_decay=0.0,
            n_iter_no_change=None,
        )

    def _is_trained(self):
        """Whether there is a run to continue."""
        return hasattr(self, "_train_state")

    def predict_proba(self, X):
        """Posterior probability of each cluster, ``p(z | y)``.

        Evaluated at the posterior means of ``x`` and ``w``, so the result is
        deterministic and each row's value does not depend on the others.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            One column per cluster (``n_components_``); rows sum to 1.
        """
        check_is_fitted(self)
        return _inference.proba(self, X)

    def predict(self, X):
        """Most probable cluster of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster, the argmax of :meth:`predict_proba`.
        """
        check_is_fitted(self)
        return _inference.labels(self, X)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the cluster of each training row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, as in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Equal to ``labels_`` (rows of weight 0 included).
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Embed ``X`` in the latent space: the posterior mean of ``x``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, latent_dim)
            Same floating dtype as the validated input.
        """
        check_is_fitted(self)
        return _inference.embed(self, X)

    def score_samples(self, X):
        """Estimate ``log p(y)`` of each row.

        An importance-weighted lower bound (IWAE) with ``n_score_samples``
        draws, in the units of ``X`` (the internal standardisation is
        accounted for). The draws are fixed per fitted model, so the result
        is deterministic and row-independent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return _inference.log_evidence(self, X)

    def score(self, X, y=None):
        """Mean estimated log-likelihood per row (see :meth:`score_samples`).

        It grows with ``n_components``: to choose the number of clusters,
        score a search with :func:`skgmvae.model_selection.bic_score`
        instead.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        seed = check_random_state(self.random_state).randint(0, 2**31 - 1)
        return _inference.generate(self, n_samples, seed)

    @property
    def _n_features_out(self):
        return self.latent_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self):
        return _persist.dump(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_persist.load(state))
