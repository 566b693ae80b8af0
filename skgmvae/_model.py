"""The torch module of the GMVAE: recognition networks, prior network and
decoder. The math of the bound lives in :mod:`skgmvae._elbo`."""

from typing import NamedTuple

import torch
from torch import nn
import torch.nn.functional as F

from . import _elbo
from ._utils import autocast_enabled

#: Smallest variance any Gaussian of the model may take (data and latents are
#: on a unit scale, so this is a relative floor).
MIN_VARIANCE = 1e-4

#: Scale of w in the prior's hidden units when the components start as
#: factor analysers (:meth:`GMVAENet.set_prior_factors`): small enough that
#: the tanh is near linear over w's spread, so the mean is linear in w.
PRIOR_FACTOR_SCALE = 0.1


def _variance_to_logvar(raw):
    """Map an unconstrained output to a log-variance bounded below."""
    return torch.log(F.softplus(raw) + MIN_VARIANCE)


def _logvar_to_raw(logvar):
    """Inverse of :func:`_variance_to_logvar` (for initialisation)."""
    var = torch.clamp(torch.exp(logvar) - MIN_VARIANCE, min=1e-6)
    return var + torch.log(-torch.expm1(-var))


def _mlp(sizes, activation):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(n_in, n_out))
        layers.append(activation())
    return nn.Sequential(*layers)


def _float32(layer, h):
    """``layer(h)`` in float32, also inside autocast (mixed-precision
    training): the latent heads are small, and the bound reads their
    outputs (means and log-variances of x, w and the components) at full
    precision."""
    device = h.device.type
    if autocast_enabled(device):
        with torch.autocast(device, enabled=False):
            return layer(h.float())
    return layer(h)


class Pass(NamedTuple):
    """What one forward pass of :class:`GMVAENet` computes for a batch.

    ``enc`` is ``(mean_x, logvar_x, mean_w, logvar_w)`` of q(x|y) and q(w|y),
    each of shape (B, ·); ``x`` and ``w`` are the reparameterised draws, of
    shape (S, B, ·); ``prior_mean`` and ``prior_logvar`` (S, B, K, Dx) are
    the components of p(x | w, z) at ``w``; ``decoded`` is the decoder's
    ``(mean, logvar)`` or ``(logits, None)`` at ``x``.
    """

    enc: tuple
    x: torch.Tensor
    w: torch.Tensor
    prior_mean: torch.Tensor
    prior_logvar: torch.Tensor
    decoded: tuple


class GMVAENet(nn.Module):
    """Networks of the Gaussian Mixture VAE.

    Parameters
    ----------
    n_features : int
        Dimension ``D`` of the observed rows ``y``.
    n_components : int
        Number of mixture components ``K``.
    latent_dim : int
        Dimension of the continuous latent ``x``.
    noise_dim : int
        Dimension of the latent ``w`` that drives the prior network.
    hidden_layer_sizes : tuple of int
        Hidden widths of the encoder trunk; the decoder mirrors them.
    prior_hidden : int
        Width of the prior network's tanh layer.
    likelihood : {"gaussian", "bernoulli"}
        Observation model ``p(y|x)``.
    """

    def __init__(
        self,
        n_features,
        n_components,
        latent_dim,
        noise_dim,
        hidden_layer_sizes,
        prior_hidden,
        likelihood,
    ):
        super().__init__()
        self.n_features = n_features
        self.n_components = n_components
        self.latent_dim = latent_dim
        self.noise_dim = noise_dim
        self.likelihood = likelihood
        hidden = list(hidden_layer_sizes)
        self.encoder = _mlp([n_features] + hidden, nn.ReLU)
        enc_out = hidden[-1] if hidden else n_features
        # one head for q(x|y) and q(w|y): means and raw variances
        self.encoder_head = nn.Linear(enc_out, 2 * latent_dim + 2 * noise_dim)
        # the autoencoder's layers draw their initial weights before the
        # prior's, so for one seed they start, and pretrain, the same
        # whatever n_components: the candidates of a search over K then
        # share their embedding and differ only in the mixture
        dec = [latent_dim] + hidden[::-1]
        decoder = _mlp(dec, nn.ReLU)
        decoder_head = nn.Linear(dec[-1], n_features)
        self.prior_hidden = nn.Sequential(nn.Linear(noise_dim, prior_hidden), nn.Tanh())
        self.prior_head = nn.Linear(prior_hidden, 2 * n_components * latent_dim)
        self.decoder = decoder
        self.decoder_head = decoder_head
        if likelihood == "gaussian":
            # one learned variance per feature: the bound is then invariant
            # to rescaling a feature, and cannot collapse a variance on a few
            # rows as a per-row variance head can
            self.decoder_raw_var = nn.Parameter(torch.zeros(n_features))

    def encode(self, y):
        """Parameters of q(x|y) and q(w|y): ``(mean_x, logvar_x, mean_w, logvar_w)``."""
        h = _float32(self.encoder_head, self.encoder(y))
        dx, dw = self.latent_dim, self.noise_dim
        mean_x, raw_x, mean_w, raw_w = torch.split(h, [dx, dx, dw, dw], dim=-1)
        return (
            mean_x,
            _variance_to_logvar(raw_x),
            mean_w,
            _variance_to_logvar(raw_w),
        )

    def encode_mean(self, y):
        """The mean of q(x|y) alone (the first item of :meth:`encode`)."""
        return _float32(self.encoder_head, self.encoder(y))[..., : self.latent_dim]

    def prior(self, w):
        """Component means and log-variances of p(x | w, z), shape (..., K, Dx)."""
        mean, raw = _float32(self._prior_net, w).chunk(2, dim=-1)
        shape = (self.n_components, self.latent_dim)
        return mean.unflatten(-1, shape), _variance_to_logvar(raw.unflatten(-1, shape))

    def _prior_net(self, w):
        return self.prior_head(self.prior_hidden(w))

    def decode(self, x):
        """Decoder output: ``(mean, logvar)`` or ``(logits, None)``."""
        out = self.decoder_head(self.decoder(x))
        if out.dtype in (torch.bfloat16, torch.float16):  # autocast's products
            out = out.float()
        if self.likelihood == "bernoulli":
            return out, None
        return out, _variance_to_logvar(self.decoder_raw_var)

    def forward(self, y, noise):
        """The one forward pass: encode ``y``, draw ``(x, w)`` from q by
        reparameterisation with ``noise``, evaluate the prior at ``w`` and
        decode ``x``.

        Parameters
        ----------
        y : torch.Tensor of shape (B, D)
        noise : torch.Tensor of shape (S, B, Dx + Dw) or (S, 1, Dx + Dw)
            Standard normal draws; the first ``latent_dim`` columns make
            ``x``, the rest ``w``. Noise of shape (S, 1, ·) is shared by
            every row (deterministic, row-independent inference).

        Returns
        -------
        Pass
        """
        enc = self.encode(y)
        noise_x, noise_w = noise.split([self.latent_dim, self.noise_dim], dim=-1)
        x = _elbo.reparameterize(enc[0], enc[1], noise_x)
        w = _elbo.reparameterize(enc[2], enc[3], noise_w)
        prior_mean, prior_logvar = self.prior(w)
        return Pass(enc, x, w, prior_mean, prior_logvar, self.decode(x))

    def elbo_terms(self, y, noise):
        """The terms of the bound for the rows ``y`` (see
        :func:`skgmvae._elbo.elbo_terms`), from one :meth:`forward` pass."""
        p = self(y, noise)
        return _elbo.elbo_terms(
            y, p.enc, p.x, p.w, p.prior_mean, p.prior_logvar, p.decoded, self.likelihood
        )

    def log_evidence(self, y, noise):
        """Importance-weighted bound on ``log p(y)`` of each row, with one
        importance sample per draw of ``noise``; shape (B,)."""
        p = self(y, noise)
        log_joint = _elbo.log_joint_marginal_z(
            y, p.x, p.w, p.prior_mean, p.prior_logvar, p.decoded, self.likelihood
        )
        log_q = _elbo.gaussian_log_prob(p.x, p.enc[0], p.enc[1])
        log_q = log_q + _elbo.gaussian_log_prob(p.w, p.enc[2], p.enc[3])
        return _elbo.importance_weighted_bound(log_joint, log_q)

    def component_logits(self, y):
        """The one inference path of cluster assignment.

        Returns the posterior mean of x for the rows ``y``, the log-density
        of each component's prior there, at the posterior mean of w (what
        ``predict`` takes the argmax of and ``predict_proba`` the softmax
        of), and the components' means at that w. Shapes (B, Dx), (B, K)
        and (B, K, Dx).
        """
        mean_x, _, mean_w, _ = self.encode(y)
        prior_mean, prior_logvar = self.prior(mean_w)
        logits = _elbo.gaussian_log_prob(mean_x.unsqueeze(-2), prior_mean, prior_logvar)
        return mean_x, logits, prior_mean

    def generate(self, n_samples, generator):
        """Draw rows from the generative model.

        ``z`` uniform, ``w ~ N(0, I)``, ``x ~ p(x | w, z)``, ``y ~ p(y | x)``
        (a Gaussian draw, or a Bernoulli draw in {0, 1}), every draw from
        ``generator`` on the CPU, in the dtype and on the device of the
        networks' parameters.

        Returns
        -------
        y : torch.Tensor of shape (n_samples, n_features)
        labels : torch.Tensor of shape (n_samples,)
            Component each row was drawn from (on the CPU).
        """
        param = self.encoder_head.bias
        device, dtype = param.device, param.dtype
        labels = torch.randint(0, self.n_components, (n_samples,), generator=generator)
        w = standard_normal((n_samples, self.noise_dim), generator, device, dtype)
        prior_mean, prior_logvar = self.prior(w)
        pick = labels.to(device)[:, None, None].expand(-1, 1, self.latent_dim)
        mean = prior_mean.gather(1, pick).squeeze(1)
        logvar = prior_logvar.gather(1, pick).squeeze(1)
        noise = standard_normal(mean.shape, generator, device, dtype)
        loc, logvar_y = self.decode(_elbo.reparameterize(mean, logvar, noise))
        if self.likelihood == "bernoulli":
            u = torch.rand(loc.shape, generator=generator, dtype=dtype).to(device)
            return (u < torch.sigmoid(loc)).to(dtype), labels
        noise = standard_normal(loc.shape, generator, device, dtype)
        return _elbo.reparameterize(loc, logvar_y, noise), labels

    @torch.no_grad()
    def set_prior_components(self, means, variances):
        """Make the prior network output fixed components, independent of w.

        Used to start the mixture at clusters of the pretrained embedding;
        the weights stay trainable so that ``w`` can modulate the
        components afterwards.

        Parameters
        ----------
        means, variances : torch.Tensor of shape (K, Dx)
        """
        self.prior_head.weight.mul_(0.0)
        raw = _logvar_to_raw(torch.log(variances))
        bias = torch.stack([means, raw]).reshape(-1)
        self.prior_head.bias.copy_(bias.to(self.prior_head.bias))

    @torch.no_grad()
    def set_prior_factors(self, means, variances, loadings, scale=PRIOR_FACTOR_SCALE):
        """Make the prior network output factor analysers: component ``k``
        has mean ``means[k] + loadings[k] @ w`` (to within the tanh's
        curvature at ``scale * w``) and the fixed ``variances[k]``.

        The first ``r`` hidden units (``r`` the number of factors, at most
        ``noise_dim`` and ``prior_hidden``) read ``scale * w[:r]``; the
        others keep their weights but start unread. Every weight stays
        trainable.

        Parameters
        ----------
        means, variances : torch.Tensor of shape (K, Dx)
        loadings : torch.Tensor of shape (K, Dx, r)
        """
        self.set_prior_components(means, variances)
        n_factors = loadings.shape[-1]
        first = self.prior_hidden[0]
        first.weight[:n_factors] = 0.0
        first.weight[:n_factors, :n_factors] = scale * torch.eye(n_factors)
        first.bias[:n_factors] = 0.0
        weight = self._prior_rows()[0]
        weight[0, :, :, :n_factors] = (loadings / scale).to(weight)

    @torch.no_grad()
    def set_noise_posterior(self, coef, intercept, variance):
        """Make q(w|y) start with the mean ``h @ coef + intercept`` on the
        encoder's last hidden layer ``h`` (on ``y`` itself without hidden
        layers; the other columns of w at zero) and the fixed ``variance``.

        Parameters
        ----------
        coef : torch.Tensor of shape (n_hidden, r)
        intercept, variance : torch.Tensor of shape (r,) and (Dw,)
        """
        start, dw = 2 * self.latent_dim, self.noise_dim
        n_factors = coef.shape[1]
        head = self.encoder_head
        head.weight[start : start + dw] = 0.0
        head.bias[start : start + dw] = 0.0
        head.weight[start : start + n_factors] = coef.T.to(head.weight)
        head.bias[start : start + n_factors] = intercept.to(head.bias)
        head.weight[start + dw :] = 0.0
        raw = _logvar_to_raw(torch.log(variance))
        head.bias[start + dw :] = raw.to(head.bias)

    def _prior_rows(self):
        """Weight and bias of the prior's output layer by component: shapes
        (2, K, Dx, H) and (2, K, Dx), the means first, then the raw variances
        (views, not copies)."""
        head, k, dx = self.prior_head, self.n_components, self.latent_dim
        return head.weight.view(2, k, dx, -1), head.bias.view(2, k, dx)

    def _replace_prior_rows(self, weight, bias):
        """Give the prior a new output layer with the rows ``weight`` and
        ``bias`` (shaped as :meth:`_prior_rows` returns them, fresh tensors
        that the layer takes over); the old layer is replaced, not edited."""
        n_components = weight.shape[1]
        new = nn.Linear(
            weight.shape[-1], 2 * n_components * self.latent_dim, device="meta"
        )
        new.weight = nn.Parameter(weight.reshape(-1, weight.shape[-1]))
        new.bias = nn.Parameter(bias.reshape(-1))
        self.prior_head = new
        self.n_components = n_components

    @torch.no_grad()
    def resize_prior(self, n_components):
        """Give the prior network ``n_components`` components.

        The first ``min(n_components, self.n_components)`` components keep
        their weights; added ones start at zero (at the origin, with one
        shared variance) until :meth:`set_prior_components` places them.
        Nothing is drawn from the random generator, and the rest of the
        networks is unchanged.
        """
        weight, bias = self._prior_rows()
        keep = min(n_components, self.n_components)
        new_weight = weight.new_zeros((2, n_components) + weight.shape[2:])
        new_bias = bias.new_zeros((2, n_components) + bias.shape[2:])
        new_weight[:, :keep] = weight[:, :keep]
        new_bias[:, :keep] = bias[:, :keep]
        self._replace_prior_rows(new_weight, new_bias)

    @torch.no_grad()
    def split_prior(self, parents, offsets, variances=None):
        """Replace the components by children of the current ones.

        Child ``j`` is a copy of component ``parents[j]``, moved by
        ``offsets[j]``: its mean keeps the parent's dependence on w. Its
        variance is the parent's, also as a function of w, or, when
        ``variances`` is given, the fixed ``variances[j]``.

        Parameters
        ----------
        parents : sequence of int, length K'
        offsets : torch.Tensor of shape (K', Dx)
        variances : torch.Tensor of shape (K', Dx) or None
        """
        weight, bias = self._prior_rows()
        parents = torch.as_tensor(parents, dtype=torch.long, device=bias.device)
        new_weight, new_bias = weight[:, parents], bias[:, parents]  # copies
        new_bias[0] += offsets.to(new_bias)
        if variances is not None:
            new_weight[1] = 0.0
            new_bias[1] = _logvar_to_raw(torch.log(variances)).to(new_bias)
        self._replace_prior_rows(new_weight, new_bias)

    @torch.no_grad()
    def rotate_latent(self, axes):
        """Express x in the orthonormal basis ``axes`` (columns, shape
        (Dx, Dx)): the encoder's means give ``axes.T @ x`` and the decoder
        reads them back, so the autoencoder's function and the distances
        between encoded rows are unchanged; only the coordinate axes, along
        which the components' variances are diagonal, turn.

        The prior's components and q(x|y)'s variances are set afterwards.
        """
        dx = self.latent_dim
        axes = axes.to(self.encoder_head.weight)
        head = self.encoder_head
        head.weight[:dx] = axes.T @ head.weight[:dx]
        head.bias[:dx] = axes.T @ head.bias[:dx]
        first = next(
            (m for m in self.decoder.modules() if isinstance(m, nn.Linear)),
            self.decoder_head,
        )
        first.weight.copy_(first.weight @ axes)

    @torch.no_grad()
    def set_posterior_variance(self, variances):
        """Make q(x|y) start with the given variances (shape (Dx,)) for every row."""
        dx = self.latent_dim
        self.encoder_head.weight[dx : 2 * dx].mul_(0.0)
        raw = _logvar_to_raw(torch.log(variances))
        self.encoder_head.bias[dx : 2 * dx].copy_(raw.to(self.encoder_head.bias))

    @torch.no_grad()
    def set_decoder_variance(self, variances):
        """Set the per-feature variances of the Gaussian decoder (shape (D,))."""
        if self.likelihood == "gaussian":
            raw = _logvar_to_raw(torch.log(variances))
            self.decoder_raw_var.copy_(raw.to(self.decoder_raw_var))

    def flops_per_row(self):
        """Multiply-adds x 2 of one forward pass for one row and one sample."""
        total = 0
        for module in self.modules():
            if isinstance(module, nn.Linear):
                total += 2 * module.in_features * module.out_features
        return total


def init_seed_state(seed):
    """A ``torch.Generator`` on the CPU seeded with ``seed``."""
    gen = torch.Generator()
    gen.manual_seed(int(seed) % (2**63 - 1))
    return gen


def build_net(config, seed):
    """Build a :class:`GMVAENet` with weights drawn from ``seed`` only.

    The global torch RNG is left as the caller had it.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = GMVAENet(**config)
    return net


def standard_normal(shape, generator, device, dtype=torch.float32):
    """Standard normal noise drawn on the CPU from ``generator`` (so that the
    same seed gives the same draws on every device), then moved."""
    out = torch.randn(shape, generator=generator, dtype=torch.float32)
    return out.to(device=device, dtype=dtype)
