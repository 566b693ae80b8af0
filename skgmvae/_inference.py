"""Inference with a fitted model: the networks in float64, rows in blocks,
the fixed noise shared by every row that makes ``score_samples``
deterministic and row-independent, and the bound that ranks the ``n_init``
fits, whose rows have draws of their own."""

import copy
from numbers import Integral

import numpy as np
import torch

from . import _data
from ._data import inference_blocks, plain_blocks
from ._model import init_seed_state, standard_normal
from ._utils import resolve_device, thread_limit, torch_threads


def fixed_noise(eval_seed, n_draws, net, y):
    """The model's fixed noise, shared by every row, on ``y``'s device and
    dtype: ``(n_draws, 1, latent_dim + noise_dim)`` standard normal draws
    from the seed ``eval_seed``."""
    gen = init_seed_state(eval_seed)
    shape = (n_draws, 1, net.latent_dim + net.noise_dim)
    noise = standard_normal(shape, gen, "cpu", torch.float64)
    return noise.to(device=y.device, dtype=y.dtype)


def sampled_block(n_draws):
    """Rows per block where each row gets ``n_draws`` draws, so that the
    (draws, rows, components, latent_dim) temporaries stay as small as those
    of a plain block."""
    return max(1, _data.INFERENCE_BATCH // n_draws)


#: Rows whose noise in :func:`elbo_rows` comes from one seeded stream: a
#: row's draws depend on the seed, its position and the number of draws a
#: row (:func:`bound_draws`) only, not on how the rows are split into
#: blocks (dense or sparse) nor on the rows after it.
BOUND_NOISE_ROWS = 4096
#: Draws over all rows of the bound that compares the ``n_init`` runs: each
#: row gets ``ceil(BOUND_ROW_DRAWS / n_rows)`` of its own, at most
#: ``n_score_samples`` and at least one. Draws of its own make the mean over
#: many rows precise with one draw a row (the error of the mean falls with
#: the number of rows), where draws shared by every row would leave the
#: mean as uncertain as that of one row; on 70,000 MNIST images one draw a
#: row costs a sixteenth of sixteen shared draws.
BOUND_ROW_DRAWS = 65536


def bound_draws(n_rows, n_score_samples):
    """Draws per row of the bound of ``n_rows`` training rows."""
    return int(min(n_score_samples, max(1, -(-BOUND_ROW_DRAWS // max(1, n_rows)))))


def row_noise(eval_seed, chunk, n_draws, n_rows, net):
    """Standard normal draws of shape ``(n_draws, n_rows, latent_dim +
    noise_dim)`` (float64, CPU) for the first ``n_rows`` rows of chunk
    ``chunk`` (rows ``chunk * BOUND_NOISE_ROWS`` onwards), from ``eval_seed``
    and ``chunk`` alone.

    NumPy draws one value after another, row by row, so a row's draws are
    the same however many rows follow it in the chunk."""
    seed = np.random.SeedSequence([int(eval_seed), int(chunk)])
    shape = (n_rows, n_draws, net.latent_dim + net.noise_dim)
    noise = np.random.default_rng(seed).standard_normal(shape)
    return torch.from_numpy(noise).transpose(0, 1)


def elbo_rows(net, Xt, scaling, eval_seed, n_score_samples):
    """Per-row ELBO of the training tensor ``Xt``, in the units of the data
    (the scaling's log-determinant removed): each row with
    :func:`bound_draws` draws of its own, fixed by ``eval_seed`` and the
    row's position (:func:`row_noise`), so that the ``n_init`` runs are
    compared on the same draws."""
    net.eval()
    n_rows = Xt.shape[0]
    n_draws = bound_draws(n_rows, n_score_samples)
    out = np.empty(n_rows)
    # the rows of a sparse matrix are made dense a block at a time
    block = max(1, min(sampled_block(n_draws), getattr(Xt, "block_rows", n_rows)))
    with torch.no_grad():
        for first in range(0, n_rows, BOUND_NOISE_ROWS):
            last = min(n_rows, first + BOUND_NOISE_ROWS)
            noise = row_noise(eval_seed, first // BOUND_NOISE_ROWS, n_draws, last - first, net)
            for start in range(first, last, block):
                stop = min(last, start + block)
                y = Xt[torch.arange(start, stop, device=Xt.device)]
                draws = noise[:, start - first : stop - first]
                terms = net.elbo_terms(y, draws.to(device=y.device, dtype=y.dtype))
                # written into one preallocated array: small per-block arrays
                # kept alive between the large temporaries fragment the heap
                out[start:stop] = terms["elbo"].cpu().numpy()
    return out - scaling.log_det


def inference_net(estimator):
    """A float64 copy of the fitted networks in eval mode on the inference
    device, and that device.

    Inference runs in float64 so that a row's result does not depend on the
    other rows of its block (float32 matrix products round differently with
    the block size).
    """
    device = resolve_device(estimator.device, strict=False)
    net = copy.deepcopy(estimator._net).to(device=device, dtype=torch.float64)
    net.eval()
    return net, device


def map_blocks(estimator, X, fn, validated=False):
    """Validate ``X`` (unless ``validated``) and apply ``fn(net,
    tensor_block)`` to blocks of its rows.

    Returns the stacked numpy results and the dtype of the validated input.
    Memory stays bounded by the block size.
    """
    net, device = inference_net(estimator)
    if validated:
        n_rows, blocks = plain_blocks(X)
    else:
        n_rows, blocks = inference_blocks(estimator, X)
    out, dtype, start = None, None, 0
    scaling = estimator._scaling
    with torch.no_grad(), torch_threads(thread_limit()):
        for block in blocks:
            dtype = block.dtype
            result = fn(net, scaling.tensor(block, device, torch.float64)).cpu()
            if out is None:  # one array for all rows, filled in place
                out = np.empty((n_rows, *result.shape[1:]), result.numpy().dtype)
            out[start : start + len(block)] = result.numpy()
            start += len(block)
            del block, result  # before the next block is made
    return out, dtype


def _logits(net, y):
    return net.component_logits(y)[1]


def proba(estimator, X):
    """``p(z | y)`` of each row of ``X``, at the posterior means."""
    logits = map_blocks(estimator, X, _logits)[0]
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    out /= out.sum(axis=1, keepdims=True)
    return out


def labels(estimator, X, validated=False):
    """The most probable cluster of each row, argmax block by block: no
    ``(n_samples, n_components)`` array is kept."""
    out = map_blocks(estimator, X, lambda net, y: _logits(net, y).argmax(-1), validated)
    return out[0].astype(np.intp, copy=False)


def embed(estimator, X):
    """Posterior mean of ``x`` of each row, in the dtype of the validated input."""
    out, dtype = map_blocks(estimator, X, lambda net, y: net.encode_mean(y))
    return out.astype(dtype, copy=False)


def log_evidence(estimator, X):
    """Importance-weighted estimate of ``log p(y)`` of each row, in the
    units of ``X``."""
    eval_seed, n_draws = estimator._eval_seed, estimator.n_score_samples

    def iwae(net, y):
        outs = [
            net.log_evidence(rows, fixed_noise(eval_seed, n_draws, net, rows))
            for rows in y.split(sampled_block(n_draws))
        ]
        return torch.cat(outs)

    return map_blocks(estimator, X, iwae)[0] - estimator._scaling.log_det


def generate(estimator, n_samples, seed):
    """``n_samples`` rows drawn from the fitted model, in the units of the
    training data, and the cluster of each."""
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(
            "The 'n_samples' parameter of GMVAEClustering.sample must be an "
            f"int >= 1. Got {n_samples!r} instead."
        )
    net, _ = inference_net(estimator)
    gen = init_seed_state(seed)
    with torch.no_grad(), torch_threads(thread_limit()):
        out, components = net.generate(n_samples, gen)
    return estimator._scaling.unscale(out.cpu().numpy()), components.numpy()
