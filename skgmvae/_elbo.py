"""Pure tensor math of the GMVAE: log-likelihoods, KL divergences, the
closed-form z-posterior, the evidence lower bound and the importance-weighted
bound.

Every function here is stateless and works on batches; nothing here knows
about networks or optimisers. Shapes use ``S`` for Monte Carlo samples, ``B``
for rows, ``K`` for mixture components and ``D`` for a feature dimension.
"""

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(value, mean, logvar):
    """Log-density of a diagonal Gaussian, summed over the last axis.

    Parameters
    ----------
    value, mean, logvar : torch.Tensor
        Broadcastable tensors whose last axis is the event dimension.

    Returns
    -------
    torch.Tensor
        ``log N(value; mean, diag(exp(logvar)))`` with the last axis summed.
    """
    sq = (value - mean).pow(2) * torch.exp(-logvar)
    return -0.5 * (LOG_2PI + logvar + sq).sum(-1)


def bernoulli_log_prob(value, logits):
    """Log-probability of ``value`` in [0, 1] under Bernoulli(sigmoid(logits)).

    Values strictly inside (0, 1) give the continuous cross-entropy used for
    grey-level images. Summed over the last axis.
    """
    return -F.binary_cross_entropy_with_logits(
        logits, value.expand_as(logits), reduction="none"
    ).sum(-1)


def kl_diag_gaussians(mean_q, logvar_q, mean_p, logvar_p):
    """KL(q || p) between diagonal Gaussians, summed over the last axis."""
    return 0.5 * (
        logvar_p
        - logvar_q
        + (torch.exp(logvar_q) + (mean_q - mean_p).pow(2)) * torch.exp(-logvar_p)
        - 1.0
    ).sum(-1)


def kl_standard_normal(mean, logvar):
    """KL(N(mean, diag(exp(logvar))) || N(0, I)), summed over the last axis."""
    return 0.5 * (torch.exp(logvar) + mean.pow(2) - 1.0 - logvar).sum(-1)


def z_posterior_log_probs(x, prior_mean, prior_logvar):
    """Closed-form log p(z = k | x, w) under a uniform mixing prior.

    Parameters
    ----------
    x : torch.Tensor of shape (..., D)
        Latent points.
    prior_mean, prior_logvar : torch.Tensor of shape (..., K, D)
        Component means and log-variances produced by the prior network from
        ``w``.

    Returns
    -------
    torch.Tensor of shape (..., K)
        Normalised log-probabilities (log-sum-exp over ``K`` is 0). The
        uniform ``log pi_k`` cancels in the normalisation.
    """
    log_lik = gaussian_log_prob(x.unsqueeze(-2), prior_mean, prior_logvar)
    return torch.log_softmax(log_lik, dim=-1)


def kl_categorical_uniform(log_probs):
    """KL(q || Uniform(K)) for a categorical q given by its log-probabilities."""
    n_components = log_probs.shape[-1]
    return (log_probs.exp() * log_probs).sum(-1) + math.log(n_components)


def component_log_lik_and_kl(x, mean_q, logvar_q, prior_mean, prior_logvar):
    """Both per-component quantities of the conditional prior in one pass.

    Equivalent to ``gaussian_log_prob(x[..., None, :], prior_mean,
    prior_logvar)`` and ``kl_diag_gaussians(mean_q[..., None, :],
    logvar_q[..., None, :], prior_mean, prior_logvar)``, sharing the
    component precisions and the log-determinants between them (the
    (S, B, K, Dx) tensors dominate the cost of a training step).

    Parameters
    ----------
    x : torch.Tensor of shape (S, B, Dx)
    mean_q, logvar_q : torch.Tensor of shape (B, Dx)
    prior_mean, prior_logvar : torch.Tensor of shape (S, B, K, Dx)

    Returns
    -------
    log_lik, kl : torch.Tensor of shape (S, B, K)
    """
    dim = x.shape[-1]
    precision = torch.exp(-prior_logvar)
    log_det = prior_logvar.sum(-1)
    dx = (x.unsqueeze(-2) - prior_mean).pow(2)
    log_lik = -0.5 * (dim * LOG_2PI + log_det + (dx * precision).sum(-1))
    dq = (mean_q.unsqueeze(-2) - prior_mean).pow(2) + torch.exp(logvar_q).unsqueeze(-2)
    kl = 0.5 * (
        log_det - logvar_q.sum(-1).unsqueeze(-1) + (dq * precision).sum(-1) - dim
    )
    return log_lik, kl


class _MixtureTerms(torch.autograd.Function):
    """The z-dependent terms of the bound in one autograd node: the
    conditional prior term, the z-prior term and the z log-posterior, with
    a hand-written backward pass (see :func:`mixture_terms`)."""

    @staticmethod
    def forward(ctx, x, mean_q, logvar_q, prior_mean, prior_logvar):
        ctx.set_materialize_grads(False)
        dim = x.shape[-1]
        precision = torch.exp(-prior_logvar)
        log_det = prior_logvar.sum(-1)
        diff_x = x.unsqueeze(-2) - prior_mean
        diff_q = mean_q.unsqueeze(-2) - prior_mean
        var_q = torch.exp(logvar_q).unsqueeze(-2)
        sq_x = diff_x.square()
        sq_q = diff_q.square().add_(var_q)
        log_lik = (sq_x * precision).sum(-1).add_(log_det).add_(dim * LOG_2PI).mul_(-0.5)
        kl = (sq_q * precision).sum(-1).add_(log_det)
        kl = kl.sub_(logvar_q.sum(-1).unsqueeze(-1)).sub_(dim).mul_(0.5)
        log_pz = torch.log_softmax(log_lik, dim=-1)
        pz = log_pz.exp()
        cond = (pz * kl).sum(-1)
        kl_z = (pz * log_pz).sum(-1).add_(math.log(log_lik.shape[-1]))
        ctx.save_for_backward(precision, diff_x, diff_q, sq_x, sq_q, var_q, kl, log_pz, pz)
        ctx.q_dims = mean_q.dim()
        return cond, kl_z, log_pz

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_cond, grad_kl_z, grad_log_pz):
        precision, diff_x, diff_q, sq_x, sq_q, var_q, kl, log_pz, pz = ctx.saved_tensors
        # gradient reaching log_pz, then log_lik through the log-softmax
        grad = torch.zeros_like(pz)
        if grad_kl_z is not None:  # d/dlog_pz of sum pz log_pz is pz (log_pz + 1)
            grad.add_((log_pz + 1.0).mul_(grad_kl_z.unsqueeze(-1)).mul_(pz))
        if grad_cond is not None:  # d/dlog_pz of sum pz kl is pz kl
            grad_kl = pz * grad_cond.unsqueeze(-1)
            grad.addcmul_(grad_kl, kl)
        else:
            grad_kl = torch.zeros_like(pz)
        if grad_log_pz is not None:
            grad.add_(grad_log_pz)
        grad_ll = grad.sub_(pz * grad.sum(-1, keepdim=True))
        # log_lik = -(log_det + sum sq_x precision) / 2 + c,
        # kl = (log_det - sum logvar_q + sum sq_q precision - dim) / 2
        u = grad_ll.unsqueeze(-1) * precision
        v = grad_kl.unsqueeze(-1) * precision
        ux = u * diff_x
        vq = v * diff_q
        grad_mean = ux - vq
        grad_logvar = (u * sq_x).sub_(v * sq_q)
        grad_logvar = grad_logvar.add_((grad_kl - grad_ll).unsqueeze(-1)).mul_(0.5)
        grad_x = -ux.sum(-2)
        grad_mean_q = vq.sum(-2)
        grad_logvar_q = (v * var_q).sum(-2).sub_(grad_kl.sum(-1, keepdim=True)).mul_(0.5)
        lead = tuple(range(grad_x.dim() - ctx.q_dims))  # the Monte Carlo axes
        if lead:
            grad_mean_q = grad_mean_q.sum(lead)
            grad_logvar_q = grad_logvar_q.sum(lead)
        return grad_x, grad_mean_q, grad_logvar_q, grad_mean, grad_logvar


def mixture_terms(x, mean_q, logvar_q, prior_mean, prior_logvar):
    """The terms of the bound that involve z, for each Monte Carlo sample.

    The same values, and gradients, as ``log_pz = log_softmax(log_lik)``,
    ``(exp(log_pz) * kl).sum(-1)`` and ``kl_categorical_uniform(log_pz)``
    from :func:`component_log_lik_and_kl`, computed in one autograd node
    whose backward pass is written out. The arithmetic is the same; the
    node saves the autograd graph's bookkeeping and a few operator calls
    (on 256 rows and K = 10, 203 operator calls forward and backward
    against 227 recorded operation by operation; a default MNIST step
    measured no faster, ``benchmarks/experiments/bench_step_ops.py``).

    Parameters
    ----------
    x : torch.Tensor of shape (S, B, Dx)
    mean_q, logvar_q : torch.Tensor of shape (B, Dx)
    prior_mean, prior_logvar : torch.Tensor of shape (S, B, K, Dx)

    Returns
    -------
    conditional_prior, z_prior : torch.Tensor of shape (S, B)
        ``E_{p(z|x,w)} KL(q(x|y) || p(x|w,z))`` and ``KL(p(z|x,w) || p(z))``.
    log_pz : torch.Tensor of shape (S, B, K)
        The z log-posterior (:func:`z_posterior_log_probs`).
    """
    return _MixtureTerms.apply(x, mean_q, logvar_q, prior_mean, prior_logvar)


def reparameterize(mean, logvar, noise):
    """Draw ``mean + exp(logvar / 2) * noise`` (the reparameterisation trick)."""
    return mean + torch.exp(0.5 * logvar) * noise


def reconstruction_log_prob(y, decoded, likelihood):
    """log p(y | x) for the decoder output ``decoded``.

    ``decoded`` is ``(mean, logvar)`` for the Gaussian likelihood and
    ``(logits, None)`` for the Bernoulli likelihood.
    """
    loc, logvar = decoded
    if likelihood == "bernoulli":
        return bernoulli_log_prob(y, loc)
    return gaussian_log_prob(y, loc, logvar)


def elbo_terms(y, enc, x, w, prior_mean, prior_logvar, decoded, likelihood):
    """The four terms of the GMVAE evidence lower bound, per row.

    Parameters
    ----------
    y : torch.Tensor of shape (B, D)
        Observed rows.
    enc : tuple of 4 torch.Tensor
        ``(mean_x, logvar_x, mean_w, logvar_w)`` of q(x|y) and q(w|y), each of
        shape (B, ·).
    x, w : torch.Tensor of shape (S, B, ·)
        Monte Carlo samples from q(x|y) and q(w|y).
    prior_mean, prior_logvar : torch.Tensor of shape (S, B, K, Dx)
        Output of the prior network at ``w``.
    decoded : tuple
        Decoder output at ``x``, see :func:`reconstruction_log_prob`.
    likelihood : {"gaussian", "bernoulli"}

    Returns
    -------
    dict of torch.Tensor of shape (B,)
        ``reconstruction`` (E log p(y|x)), ``conditional_prior``
        (E_z KL(q(x|y) || p(x|w,z))), ``w_prior`` (KL(q(w|y) || p(w))),
        ``z_prior`` (KL(p(z|x,w) || p(z))), the z log-posterior of shape
        (S, B, K) as ``log_pz``, and ``elbo`` = reconstruction minus the three
        KL terms.
    """
    mean_x, logvar_x, mean_w, logvar_w = enc
    recon = reconstruction_log_prob(y, decoded, likelihood).mean(0)
    cond, kl_z, log_pz = mixture_terms(x, mean_x, logvar_x, prior_mean, prior_logvar)
    cond, kl_z = cond.mean(0), kl_z.mean(0)
    kl_w = kl_standard_normal(mean_w, logvar_w)
    return {
        "reconstruction": recon,
        "conditional_prior": cond,
        "w_prior": kl_w,
        "z_prior": kl_z,
        "log_pz": log_pz,
        "elbo": recon - cond - kl_w - kl_z,
    }


def batch_mean(values, weights=None):
    """Mean over the minibatch of per-row ``values``; with ``weights`` (of
    mean 1 over the training rows), ``sum(weights * values) / B``, whose
    expectation over minibatches is the mean over the rows repeated as
    their weights say."""
    if weights is None:
        return values.mean()
    return (values * weights).sum() / values.shape[0]


def training_loss(terms, kl_weight=1.0, min_information=0.0, weights=None):
    """Scalar loss to minimise: the negative ELBO with warm-up and free bits.

    The three KL terms are scaled by ``kl_weight`` (KL warm-up). The z-prior
    term enters as ``max(min_information, mean KL_z)`` over the minibatch (the
    minimum information constraint): below ``min_information`` nats it gives
    no gradient, so the z-posterior is not pushed towards uniform. Rows count
    by their ``weights`` (see :func:`batch_mean`) when given.
    """
    kl_z = batch_mean(terms["z_prior"], weights)
    if min_information > 0:
        kl_z = torch.clamp(kl_z, min=min_information)
    kl = (
        batch_mean(terms["conditional_prior"], weights)
        + batch_mean(terms["w_prior"], weights)
        + kl_z
    )
    return -batch_mean(terms["reconstruction"], weights) + kl_weight * kl


def neighbour_loss(terms, targets, weights=None):
    """Mean over the batch (weighted as in :func:`batch_mean`) of the
    cross-entropy ``-sum_k t_k log q(z=k|x,w)`` from each row's ``targets``
    (shape (B, K)) to its z-posterior, averaged over the Monte Carlo samples
    of ``terms["log_pz"]``."""
    cross_entropy = -(targets * terms["log_pz"]).sum(-1)
    if weights is None:
        return cross_entropy.mean()
    return batch_mean(cross_entropy.mean(0), weights)


def log_joint_marginal_z(y, x, w, prior_mean, prior_logvar, decoded, likelihood):
    """log p(y, x, w) with the discrete z summed out exactly.

    ``log p(y|x) + log p(w) + log sum_k pi_k N(x; mu_k(w), sigma_k^2(w))``,
    shape (S, B).
    """
    n_components = prior_mean.shape[-2]
    log_px = torch.logsumexp(
        gaussian_log_prob(x.unsqueeze(-2), prior_mean, prior_logvar), dim=-1
    ) - math.log(n_components)
    log_pw = gaussian_log_prob(w, torch.zeros_like(w), torch.zeros_like(w))
    return reconstruction_log_prob(y, decoded, likelihood) + log_px + log_pw


def importance_weighted_bound(log_joint, log_q):
    """IWAE bound ``log 1/S sum_s p(y, x_s, w_s) / q(x_s, w_s | y)``.

    Parameters
    ----------
    log_joint, log_q : torch.Tensor of shape (S, B)

    Returns
    -------
    torch.Tensor of shape (B,)
        A lower bound on log p(y) that is at least the ELBO in expectation
        and tightens as S grows.
    """
    n_samples = log_joint.shape[0]
    return torch.logsumexp(log_joint - log_q, dim=0) - math.log(n_samples)
