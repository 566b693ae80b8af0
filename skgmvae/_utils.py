"""Runtime plumbing shared by the estimator: devices and thread limits."""

import contextlib
import numbers

import torch


def resolve_device(device, *, strict):
    """Turn the ``device`` parameter into a ``torch.device``.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (CUDA when
        available, else CPU).
    strict : bool
        When True (fitting), asking for an unavailable accelerator raises a
        ``ValueError``. When False (inference on a loaded model), it falls back
        to the CPU, so that a model fitted on a GPU predicts anywhere.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'cpu', 'cuda', "
            "'cuda:N', 'mps' or 'auto'."
        ) from exc
    available = True
    if dev.type == "cuda":
        available = torch.cuda.is_available() and (
            dev.index is None or dev.index < torch.cuda.device_count()
        )
    elif dev.type == "mps":
        available = torch.backends.mps.is_available()
    elif dev.type != "cpu":
        available = False
    if available:
        return dev
    if strict:
        raise ValueError(
            f"device={device!r} was requested but is not available on this "
            f"machine{_why_unavailable(dev)}; use device='cpu', or device='auto' "
            "to take a GPU only where there is one."
        )
    return torch.device("cpu")


def _why_unavailable(dev):
    """Why the accelerator ``dev`` is missing, as a parenthesis (or "")."""
    if dev.type == "cuda":
        if torch.version.cuda is None:
            return (
                f" (the installed torch {torch.__version__} is a build without "
                "CUDA; a CUDA build of torch is needed for a GPU)"
            )
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return f" (torch sees {count} CUDA device(s))"
    if dev.type == "mps":
        return " (MPS needs Apple silicon and a torch build with MPS)"
    return f" (skgmvae supports 'cpu', 'cuda' and 'mps', not {dev.type!r})"


def thread_limit():
    """Number of torch threads allowed here.

    The smallest of torch's own setting (which follows ``OMP_NUM_THREADS``,
    as set by joblib in its workers) and any OpenMP limit currently imposed
    through ``threadpoolctl.threadpool_limits``.
    """
    limit = torch.get_num_threads()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "openmp":
                limit = min(limit, int(info.get("num_threads", limit)))
    except Exception:  # threadpoolctl is optional; never fail a fit over it
        pass
    return max(1, limit)


#: Multiply-adds of the networks' weights times the rows of a minibatch,
#: below which training uses one thread: a step that small gains little from
#: a second thread, and when other processes share the cores, OpenMP threads
#: that wait for each other at every one of its many small operations make
#: it many times slower (a fit on 2,000 two-feature rows took 330 s with two
#: threads on two busy cores and 9 s with one).
SMALL_STEP = 50_000_000


def training_threads(n_weights, batch_size):
    """Threads for training networks of ``n_weights`` weights on minibatches
    of ``batch_size`` rows: one for a small step (see :data:`SMALL_STEP`),
    else :func:`thread_limit`."""
    limit = thread_limit()
    return 1 if n_weights * batch_size < SMALL_STEP else limit


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``torch.set_num_threads(n_threads)``, then restore."""
    previous = torch.get_num_threads()
    if isinstance(n_threads, numbers.Integral) and n_threads != previous:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def denormals_flushed():
    """Whether this thread's float arithmetic flushes denormal numbers to
    zero (see :func:`flush_denormals`)."""
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    return bool((tiny * 2.0).item() == 0.0)


def openmp_runtimes():
    """The OpenMP runtimes loaded in this process (as found by threadpoolctl)
    that can release their worker threads (``omp_pause_resource_all``,
    OpenMP 5.0), as ctypes handles; empty where none can, or where they
    cannot be found."""
    try:
        import ctypes

        from threadpoolctl import threadpool_info

        handles = []
        for info in threadpool_info():
            if info.get("user_api") == "openmp" and info.get("filepath"):
                lib = ctypes.CDLL(info["filepath"])
                if hasattr(lib, "omp_pause_resource_all"):
                    handles.append(lib)
        return handles
    except Exception:  # never fail a fit over thread bookkeeping
        return []


#: Whether :func:`flush_denormals` releases the idle OpenMP workers, so
#: that the training starts workers that flush (off only to measure what
#: that changes).
RELEASE_OPENMP_WORKERS = True


def release_openmp_threads():
    """Let each OpenMP runtime free the idle worker threads of this thread's
    pool (``omp_pause_soft``). The next parallel region starts new ones,
    which take this thread's floating-point settings, flush-to-zero
    included: a worker keeps the settings of the thread that started it."""
    for lib in openmp_runtimes():
        try:
            lib.omp_pause_resource_all(1)
        except Exception:
            pass


@contextlib.contextmanager
def flush_denormals():
    """Run the block with denormal floats flushed to zero, then restore.

    Adam's running moments of a weight whose gradient is always 0 (the
    first layer's weights of an MNIST border pixel, which is 0 in every
    image) decay towards zero by a constant factor each step and, after a
    few thousand steps, reach float32's denormal range, where x86 arithmetic
    is tens of times slower: without this, the optimiser step came to take
    a third of a training step's time on MNIST. Numbers that small (below
    1.2e-38) change no result that matters.

    The setting belongs to a thread, and an OpenMP worker keeps the one of
    the thread that started it. Workers started before the block (by an
    earlier fit, a ``KMeans``, any parallel torch operation) would not
    flush, and the share of each step they compute would run slowly
    (``benchmarks/experiments/bench_thread_state.py``); so where the block
    turns flushing on, it first releases the idle workers, and the training
    starts new ones that flush. It releases them again at the end, so that
    later work does not run in flushing threads.
    """
    previous = denormals_flushed()
    supported = previous or torch.set_flush_denormal(True)
    changed = supported and not previous
    release = changed and RELEASE_OPENMP_WORKERS
    if release:
        release_openmp_threads()
    try:
        yield
    finally:
        if changed:
            torch.set_flush_denormal(False)
        if release:
            release_openmp_threads()


#: The values of the ``precision`` parameter.
PRECISIONS = ("auto", "float32", "bfloat16")


def native_bfloat16_cpu():
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX-512
    BF16 or AMX); elsewhere bfloat16 products are emulated and slower than
    float32 ones."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for name in checks:
        check = getattr(torch.cpu, name, None)
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # pragma: no cover - a torch without the probe
            continue
    return False


def training_dtype(precision, device):
    """The dtype of the networks' matrix products while training, or None
    for float32 throughout.

    ``"auto"`` takes bfloat16 on a CPU with native bfloat16 products and
    float32 elsewhere (accelerators and older CPUs); ``"bfloat16"`` asks for
    it anywhere, ``"float32"`` never.
    """
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto" and torch.device(device).type == "cpu":
        return torch.bfloat16 if native_bfloat16_cpu() else None
    return None


def autocast_enabled(device_type):
    """Whether autocast is on for ``device_type`` in this thread."""
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def mixed_precision(device, dtype):
    """A context in which the networks' matrix products run in ``dtype``
    (autocast); a null context for None. The weights, their gradients and
    Adam's state stay float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype, cache_enabled=False)
