"""Inference with a fitted model: the networks in float64, rows in blocks,
and the fixed noise that makes the bound and ``score_samples``
deterministic and row-independent."""

import copy
from numbers import Integral

import numpy as np
import torch

from . import _data
from ._data import inference_blocks, plain_blocks
from ._model import init_seed_state, standard_normal
from ._train import iter_batches
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


def elbo_rows(net, Xt, scaling, eval_seed, n_draws):
    """Per-row ELBO of the training tensor ``Xt`` with the fixed noise, in
    the units of the data (the scaling's log-determinant removed)."""
    net.eval()
    out = np.empty(Xt.shape[0])
    # the rows of a sparse matrix are made dense a block at a time
    block = min(sampled_block(n_draws), getattr(Xt, "block_rows", Xt.shape[0]))
    with torch.no_grad():
        for idx in iter_batches(Xt.shape[0], max(1, block)):
            y = Xt[idx.to(Xt.device)]
            terms = net.elbo_terms(y, fixed_noise(eval_seed, n_draws, net, y))
            # written into one preallocated array: small per-block arrays
            # kept alive between the large temporaries fragment the heap
            out[idx.numpy()] = terms["elbo"].cpu().numpy()
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
    out, dtype = map_blocks(estimator, X, lambda net, y: net.encode(y)[0])
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
