"""The pure math of skgmvae._elbo against closed forms and Monte Carlo."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skgmvae import _elbo
from skgmvae._model import GMVAENet


def _gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def test_gaussian_log_prob_matches_scipy():
    g = _gen()
    x, mean, logvar = (
        torch.randn(5, 3, generator=g, dtype=torch.float64) for _ in range(3)
    )
    got = _elbo.gaussian_log_prob(x, mean, logvar).numpy()
    sd = np.exp(0.5 * logvar.numpy())
    want = stats.norm.logpdf(x.numpy(), mean.numpy(), sd).sum(-1)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_bernoulli_log_prob_matches_closed_form():
    g = _gen(1)
    y = (torch.rand(4, 6, generator=g, dtype=torch.float64) > 0.5).double()
    logits = torch.randn(4, 6, generator=g, dtype=torch.float64)
    p = torch.sigmoid(logits)
    want = (y * torch.log(p) + (1 - y) * torch.log1p(-p)).sum(-1)
    np.testing.assert_allclose(_elbo.bernoulli_log_prob(y, logits), want, rtol=1e-10)


def test_kl_diag_gaussians_matches_monte_carlo():
    g = _gen(2)
    mq, lq, mp, lp = (
        0.5 * torch.randn(3, generator=g, dtype=torch.float64) for _ in range(4)
    )
    eps = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    s = _elbo.reparameterize(mq, lq, eps)
    mc = (
        _elbo.gaussian_log_prob(s, mq, lq) - _elbo.gaussian_log_prob(s, mp, lp)
    ).mean()
    exact = _elbo.kl_diag_gaussians(mq, lq, mp, lp)
    assert abs(float(mc - exact)) < 0.01
    assert float(exact) > 0
    # KL of a distribution to itself is 0
    assert float(_elbo.kl_diag_gaussians(mq, lq, mq, lq)) == pytest.approx(0, abs=1e-12)


def test_kl_standard_normal_is_special_case():
    g = _gen(3)
    m, lv = (
        torch.randn(7, generator=g, dtype=torch.float64),
        torch.randn(7, generator=g, dtype=torch.float64),
    )
    z = torch.zeros(7, dtype=torch.float64)
    np.testing.assert_allclose(
        _elbo.kl_standard_normal(m, lv),
        _elbo.kl_diag_gaussians(m, lv, z, z),
        rtol=1e-12,
    )


def test_z_posterior_is_bayes_rule_and_sums_to_one():
    g = _gen(4)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    mu = torch.randn(6, 3, 2, generator=g, dtype=torch.float64)
    lv = 0.3 * torch.randn(6, 3, 2, generator=g, dtype=torch.float64)
    logp = _elbo.z_posterior_log_probs(x, mu, lv)
    np.testing.assert_allclose(logp.exp().sum(-1), np.ones(6), rtol=1e-12)
    # brute-force Bayes rule with scipy densities and uniform prior
    dens = np.stack(
        [
            stats.multivariate_normal(
                mu[0, k].numpy(), np.diag(np.exp(lv[0, k].numpy()))
            ).pdf(x[0].numpy())
            for k in range(3)
        ]
    )
    np.testing.assert_allclose(logp[0].exp().numpy(), dens / dens.sum(), rtol=1e-8)


def test_kl_categorical_uniform_bounds():
    uniform = torch.full((1, 5), math.log(1 / 5), dtype=torch.float64)
    assert float(_elbo.kl_categorical_uniform(uniform)) == pytest.approx(0, abs=1e-12)
    one_hot = torch.log(torch.tensor([[1.0, 1e-300, 1e-300]], dtype=torch.float64))
    assert float(_elbo.kl_categorical_uniform(one_hot)) == pytest.approx(
        math.log(3), abs=1e-9
    )


def _toy_net(likelihood="gaussian", seed=0):
    torch.manual_seed(seed)
    return GMVAENet(
        n_features=4,
        n_components=3,
        latent_dim=2,
        noise_dim=2,
        hidden_layer_sizes=(8,),
        prior_hidden=8,
        likelihood=likelihood,
    ).double()


def _terms_and_iw(net, y, n_samples, seed):
    g = _gen(seed)
    enc = net.encode(y)
    ex = torch.randn(n_samples, y.shape[0], 2, generator=g, dtype=torch.float64)
    ew = torch.randn(n_samples, y.shape[0], 2, generator=g, dtype=torch.float64)
    x = _elbo.reparameterize(enc[0], enc[1], ex)
    w = _elbo.reparameterize(enc[2], enc[3], ew)
    pm, pv = net.prior(w)
    dec = net.decode(x)
    terms = _elbo.elbo_terms(y, enc, x, w, pm, pv, dec, net.likelihood)
    log_joint = _elbo.log_joint_marginal_z(y, x, w, pm, pv, dec, net.likelihood)
    log_q = _elbo.gaussian_log_prob(x, enc[0], enc[1]) + _elbo.gaussian_log_prob(
        w, enc[2], enc[3]
    )
    return terms, log_joint, log_q


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_terms_decompose_log_joint_with_z_summed_out(likelihood):
    """With every KL estimated at the sampled (x, w) instead of analytically,
    the four terms add up exactly to log p(y,x,w) - log q(x,w|y): summing z
    out with q(z|x,w) = p(z|x,w) is exact, sample by sample."""
    net = _toy_net(likelihood)
    y = torch.rand(3, 4, generator=_gen(5), dtype=torch.float64)
    with torch.no_grad():
        terms, log_joint, log_q = _terms_and_iw(net, y, 7, 6)
        enc = net.encode(y)
        g = _gen(6)
        ex = torch.randn(7, 3, 2, generator=g, dtype=torch.float64)
        ew = torch.randn(7, 3, 2, generator=g, dtype=torch.float64)
        x = _elbo.reparameterize(enc[0], enc[1], ex)
        w = _elbo.reparameterize(enc[2], enc[3], ew)
        pm, pv = net.prior(w)
        log_pz = _elbo.z_posterior_log_probs(x, pm, pv)
        log_qx = _elbo.gaussian_log_prob(x, enc[0], enc[1])
        log_px_z = _elbo.gaussian_log_prob(x.unsqueeze(-2), pm, pv)
        cond = (log_pz.exp() * (log_qx.unsqueeze(-1) - log_px_z)).sum(-1)
        kl_w = _elbo.gaussian_log_prob(w, enc[2], enc[3]) - _elbo.gaussian_log_prob(
            w, torch.zeros_like(w), torch.zeros_like(w)
        )
        kl_z = _elbo.kl_categorical_uniform(log_pz)
        recon = _elbo.reconstruction_log_prob(y, net.decode(x), likelihood)
    np.testing.assert_allclose(
        recon - cond - kl_w - kl_z, log_joint - log_q, rtol=1e-10
    )
    # and the analytic w-prior KL is the expectation of its sampled version
    big, _, _ = _terms_and_iw(net, y, 1, 6)
    assert big["w_prior"].shape == (3,)


def test_analytic_terms_match_their_sampled_expectation():
    """The reconstruction and w-prior terms are unbiased: their mean over many
    draws agrees with the sampled log-ratio to Monte Carlo error."""
    net = _toy_net()
    y = torch.rand(3, 4, generator=_gen(12), dtype=torch.float64)
    with torch.no_grad():
        terms, log_joint, log_q = _terms_and_iw(net, y, 100_000, 13)
        enc = net.encode(y)
        g = _gen(13)
        torch.randn(100_000, 3, 2, generator=g, dtype=torch.float64)
        ew = torch.randn(100_000, 3, 2, generator=g, dtype=torch.float64)
        w = _elbo.reparameterize(enc[2], enc[3], ew)
        sampled = (
            _elbo.gaussian_log_prob(w, enc[2], enc[3])
            - _elbo.gaussian_log_prob(w, torch.zeros_like(w), torch.zeros_like(w))
        ).mean(0)
    np.testing.assert_allclose(terms["w_prior"], sampled, atol=0.02)


def test_iwae_bound_is_above_elbo_and_tightens():
    net = _toy_net()
    y = torch.randn(5, 4, generator=_gen(7), dtype=torch.float64)
    with torch.no_grad():
        terms, log_joint, log_q = _terms_and_iw(net, y, 4000, 8)
        elbo = terms["elbo"]
        iw_all = _elbo.importance_weighted_bound(log_joint, log_q)
        iw_one = _elbo.importance_weighted_bound(log_joint[:1], log_q[:1])
    assert torch.all(iw_all > elbo.mean() - 1e6)  # finite
    assert torch.all(iw_all >= (log_joint - log_q).mean(0) - 1e-9)  # Jensen
    assert torch.all(iw_all >= elbo - 0.05)
    assert iw_one.shape == (5,)


def test_training_loss_free_bits_stops_z_gradient():
    net = _toy_net()
    y = torch.randn(8, 4, generator=_gen(9), dtype=torch.float64)
    terms, _, _ = _terms_and_iw(net, y, 1, 10)
    kl_z = terms["z_prior"].mean()
    head = net.prior_head.weight

    def z_grad(lam):
        loss = _elbo.training_loss(
            {
                **terms,
                "reconstruction": terms["reconstruction"].detach() * 0,
                "conditional_prior": terms["conditional_prior"].detach() * 0,
                "w_prior": terms["w_prior"].detach() * 0,
            },
            1.0,
            lam,
        )
        (g,) = torch.autograd.grad(loss, head, retain_graph=True, allow_unused=True)
        return torch.zeros_like(head) if g is None else g

    assert z_grad(float(kl_z.detach()) + 1.0).abs().max() == 0
    assert z_grad(0.0).abs().max() > 0
    # warm-up weight scales the KL part only
    full = _elbo.training_loss(terms, 1.0, 0.0).detach()
    half = _elbo.training_loss(terms, 0.5, 0.0).detach()
    kl = (terms["conditional_prior"].mean() + terms["w_prior"].mean() + kl_z).detach()
    assert (full - half).item() == pytest.approx(0.5 * kl.item(), rel=1e-9)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_gradients_finite_at_extreme_inputs(likelihood):
    net = _toy_net(likelihood).float()
    if likelihood == "bernoulli":
        y = torch.tensor([[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    else:
        y = torch.tensor([[1e4, -1e4, 0.0, 3e3], [0.0, 0.0, 0.0, 0.0]])
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(50.0)  # saturate activations and variance heads
    g = _gen(11)
    enc = net.encode(y)
    eps = torch.randn(2, 2, 4, generator=g)
    x = _elbo.reparameterize(enc[0], enc[1], eps[..., :2])
    w = _elbo.reparameterize(enc[2], enc[3], eps[..., 2:])
    pm, pv = net.prior(w)
    terms = _elbo.elbo_terms(y, enc, x, w, pm, pv, net.decode(x), likelihood)
    loss = _elbo.training_loss(terms, 1.0, 0.5)
    loss.backward()
    assert torch.isfinite(loss)
    for p in net.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()


def test_fused_component_terms_match_the_separate_functions():
    g = _gen(21)
    x = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    mq = torch.randn(5, 4, generator=g, dtype=torch.float64)
    lq = 0.5 * torch.randn(5, 4, generator=g, dtype=torch.float64)
    pm = torch.randn(3, 5, 6, 4, generator=g, dtype=torch.float64)
    pv = 0.5 * torch.randn(3, 5, 6, 4, generator=g, dtype=torch.float64)
    log_lik, kl = _elbo.component_log_lik_and_kl(x, mq, lq, pm, pv)
    np.testing.assert_allclose(
        log_lik, _elbo.gaussian_log_prob(x.unsqueeze(-2), pm, pv), rtol=1e-12
    )
    np.testing.assert_allclose(
        kl,
        _elbo.kl_diag_gaussians(mq.unsqueeze(-2), lq.unsqueeze(-2), pm, pv),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        torch.log_softmax(log_lik, -1),
        _elbo.z_posterior_log_probs(x, pm, pv),
        atol=1e-12,
    )


def _mixture_reference(x, mq, lq, pm, pv):
    """The z terms recorded operation by operation, from the separate
    functions of the bound."""
    log_pz = _elbo.z_posterior_log_probs(x, pm, pv)
    kl = _elbo.kl_diag_gaussians(mq.unsqueeze(-2), lq.unsqueeze(-2), pm, pv)
    cond = (log_pz.exp() * kl).sum(-1)
    return cond, _elbo.kl_categorical_uniform(log_pz), log_pz


@pytest.mark.parametrize("n_samples", [1, 3])
@pytest.mark.parametrize("used", [(0,), (1,), (2,), (0, 1), (0, 1, 2)])
def test_mixture_terms_values_and_gradients_match_the_separate_functions(
    n_samples, used
):
    g = _gen(22 + n_samples)
    inputs = [
        torch.randn(n_samples, 5, 4, generator=g, dtype=torch.float64),
        torch.randn(5, 4, generator=g, dtype=torch.float64),
        0.5 * torch.randn(5, 4, generator=g, dtype=torch.float64),
        torch.randn(n_samples, 5, 6, 4, generator=g, dtype=torch.float64),
        0.5 * torch.randn(n_samples, 5, 6, 4, generator=g, dtype=torch.float64),
    ]
    inputs = [tensor.requires_grad_() for tensor in inputs]
    fused = _elbo.mixture_terms(*inputs)
    reference = _mixture_reference(*inputs)
    for got, want in zip(fused, reference):
        np.testing.assert_allclose(got.detach(), want.detach(), rtol=1e-12, atol=1e-12)
    # a random linear function of the outputs that are used: its gradient
    # with respect to every input, through the hand-written backward pass
    weights = [torch.randn(out.shape, generator=g, dtype=torch.float64) for out in fused]

    def gradients(outputs):
        total = sum((outputs[i] * weights[i]).sum() for i in used)
        found = torch.autograd.grad(total, inputs, allow_unused=True)
        return [torch.zeros_like(t) if d is None else d for t, d in zip(inputs, found)]

    for got, want in zip(gradients(fused), gradients(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_mixture_terms_pass_gradcheck():
    g = _gen(31)
    inputs = [
        torch.randn(2, 3, 2, generator=g, dtype=torch.float64),
        torch.randn(3, 2, generator=g, dtype=torch.float64),
        0.3 * torch.randn(3, 2, generator=g, dtype=torch.float64),
        torch.randn(2, 3, 4, 2, generator=g, dtype=torch.float64),
        0.3 * torch.randn(2, 3, 4, 2, generator=g, dtype=torch.float64),
    ]
    inputs = [tensor.requires_grad_() for tensor in inputs]
    assert torch.autograd.gradcheck(_elbo.mixture_terms, inputs)
