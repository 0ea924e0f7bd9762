"""The default block sampler: simulated annealing that exploits the block's structure.

A block is bipartite (no couplings inside a layer), so all spins of one side are independent
given the other: a half-sweep updates a whole side by heat-bath (Gibbs) moves, and a sweep is
the low side, then the high side. A zero-temperature finish (the block's exact descent, see
:func:`~layersweep.blocks.descend`) ends every read in a local minimum with respect to any
change of a whole side.

Inverse temperatures are in units of ``1 / field_scale`` of each problem (docs/how-it-works.md §3). Random
starts anneal along ``beta_range``; given start states (reference states) the anneal emulates
a reverse anneal: it starts at ``reverse_beta`` and cools to ``beta_range[1]``.

The work is done by :mod:`layersweep.samplers._kernels`: a compiled kernel (numba) that keeps
each read's local fields and updates them only where a spin changed, and draws counter-based
random numbers; large calls run on :data:`THREADS` threads, and a given seed gives the same
samples whatever the number of threads. Its NumPy twin (``backend="numpy"``) computes the same
samples with one matrix product per half-sweep; it is the reference and the fallback. On wide
blocks (:data:`DENSE_COUPLINGS`) the default runs the twin with its heat-bath decisions
compiled (``backend="dense"``): when most fields change in a sweep, one BLAS matrix product
for a whole side beats updating each read's fields flip by flip (2.7x on K(1024, 1024)).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..blocks import BlockProblem, BlockSamples
from ..exceptions import SamplerError
from ..network import DTYPE
from . import _kernels
from .base import BlockSampler, check_schedule, geometric_betas

BACKENDS = ("auto", "numba", "dense", "numpy")
#: couplings ``a * b`` from which ``"auto"`` anneals random starts by whole-side matrix
#: products (``"dense"``) instead of the kernel's incremental field updates: hot sweeps
#: change most fields. Given starts (cold: few spins flip) stay on the kernel at every size
#: measured, up to K(1024, 1024) (experiments/bench_kernels.md). The default and deep nets'
#: blocks stay on the kernel.
DENSE_COUPLINGS = 768 * 768
#: passes of the zero-temperature finish at most (a pass is low side, then high side)
MAX_PASSES = 50
#: spin updates (reads x sweeps x spins) below which a call runs on one thread: a training
#: step's 200 reads x 32 sweeps of K(120, 40) take ~1.5 ms, where waking threads does not
#: pay and a core busy with another process would hold the call up (bench_epoch.py)
PARALLEL_WORK = 4_000_000
#: reads that a thread takes at a time: a thread slowed down (a busy core) takes fewer
#: chunks instead of holding the call up
CHUNK_READS = 64
#: threads for large calls (at most numba's NUMBA_NUM_THREADS, the cores by default); 1
#: turns threads off
THREADS = _kernels.numba.config.NUMBA_NUM_THREADS if _kernels.numba is not None else 1


@contextlib.contextmanager
def _threads(n: int):
    """numba's thread count set to ``n`` in this thread, then restored."""
    numba = _kernels.numba
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        with numba.parallel_chunksize(CHUNK_READS):
            yield
    finally:
        numba.set_num_threads(before)


def _backend(name: str, shape: tuple = (0, 0), given: bool = False) -> str:
    """The backend that runs: ``"auto"`` is ``"dense"`` for random starts (``given``
    False) on blocks of at least :data:`DENSE_COUPLINGS` couplings, else the kernel
    (``"numpy"`` without numba)."""
    if name == "auto":
        if _kernels.numba is None:
            return "numpy"
        return "dense" if not given and shape[0] * shape[1] >= DENSE_COUPLINGS else "numba"
    if name in ("numba", "dense") and _kernels.numba is None:
        raise SamplerError(f"backend={name!r} needs the numba package (pip install numba)")
    return name


def run(problem: BlockProblem, reads: int, betas: np.ndarray, high, seed: int,
        backend: str = "auto", max_passes: int = MAX_PASSES, exact_low: bool = False):
    """Anneal ``reads`` reads of every problem along ``betas`` (S inverse temperatures in
    units of ``1 / field_scale``; S = 0: the zero-temperature finish alone), then finish them.

    ``high``: ``(P, reads, b)`` start states or None (random starts); ``exact_low``: the low
    side is set to the sign of its field in every sweep, only the high side is heat-bath.
    Returns ``low (P, reads, a)``, ``high (P, reads, b)`` and ``passes (P, reads)``, the
    finishing passes that changed something.
    """
    P = problem.num_problems
    a, b = problem.shape
    N = P * reads
    betas = np.asarray(betas, DTYPE)
    if len(betas):
        beta2 = (DTYPE(2) * betas[None, :] / problem.field_scale()[:, None]).astype(DTYPE)
    else:
        beta2 = np.zeros((P, 0), DTYPE)
    key = _kernels.call_key(seed)
    chosen = _backend(backend, (a, b), high is not None)
    if chosen in ("numpy", "dense"):
        start = None if high is None else np.asarray(high, DTYPE).reshape(N, b)
        decide = _kernels.heat_bath_rows if chosen == "dense" else None
        # dense: BLAS's threads do the work; numba's would only spin beside them
        with _threads(1) if chosen == "dense" else contextlib.nullcontext():
            low, high, passes = _kernels.anneal_numpy(problem.J, problem.h_low,
                                                      problem.h_high, beta2, reads, key, start,
                                                      max_passes, exact_low, decide)
    else:
        low = np.empty((N, a), DTYPE)
        if high is None:
            high, random_start = np.empty((N, b), DTYPE), True
        else:
            high, random_start = np.array(high, DTYPE).reshape(N, b), False
        passes = np.empty(N, np.int32)
        work = N * (len(betas) + 2) * (a + b)
        with _threads(THREADS if work >= PARALLEL_WORK else 1):
            _kernels.anneal(_kernels.padded(problem.J), _kernels.padded(problem.J.T),
                            problem.h_low, problem.h_high, beta2, reads,
                            _kernels.row_keys(key, N), _kernels.LOGIT, low, high, random_start,
                            max_passes, passes, bool(exact_low))
    return low.reshape(P, reads, a), high.reshape(P, reads, b), passes.reshape(P, reads)


def finish(problem: BlockProblem, high: np.ndarray, max_passes: int = MAX_PASSES):
    """The zero-temperature finish from the high side ``(P, R, b)``: the same result as
    :func:`~layersweep.blocks.descend` (up to float rounding of the fields), compiled.
    Returns ``(low (P, R, a), high (P, R, b))``."""
    low, high, _ = run(problem, high.shape[1], np.empty(0, DTYPE), high, 0,
                       max_passes=max_passes)
    return low, high


class BipartiteAnnealer(BlockSampler):
    """Heat-bath simulated annealing of a batch of block problems, whole sides at a time.

    ``sweeps``: sweeps per read; ``beta_range``: (hot, cold) inverse temperatures in units of
    ``1 / field_scale``; ``reverse_beta``: where an anneal from a given start state begins;
    ``exact_low``: in every sweep set the low side exactly (the sign of its field given the
    high side) and heat-bath only the high side: the best low side for each high state, so
    the anneal explores the high side's marginal landscape; lower energies per sweep, a
    quarter of the random numbers on the paper's block (see the README's cost model);
    ``backend``: ``"auto"`` (the compiled kernel, or ``"dense"`` for random starts on blocks
    of at least :data:`DENSE_COUPLINGS` couplings), ``"numba"`` (the kernel), ``"dense"`` (a BLAS matrix
    product per half-sweep and compiled decisions: the reference twin's samples, bit for
    bit, faster on wide blocks) or ``"numpy"`` (the reference twin).
    """

    def __init__(self, sweeps: int = 32, beta_range=(0.1, 4.0), reverse_beta: float = 0.8,
                 exact_low: bool = False, backend: str = "auto"):
        self.sweeps, self.beta_range, self.reverse_beta = check_schedule(
            sweeps, beta_range, reverse_beta)
        if backend not in BACKENDS:
            raise SamplerError(f"backend must be one of {BACKENDS}; got {backend!r}")
        self.backend = backend
        self.exact_low = bool(exact_low)

    @property
    def properties(self) -> dict:
        return {"name": "numpy", "sweeps": self.sweeps, "beta_range": list(self.beta_range),
                "reverse_beta": self.reverse_beta, "exact_low": self.exact_low,
                "backend": self.backend if _kernels.numba is not None else "numpy"}

    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        if seed is None:
            seed = int(np.random.default_rng().integers(2 ** 31))
        start = self.beta_range[0] if initial is None else self.reverse_beta
        betas = geometric_betas(start, self.beta_range[1], self.sweeps)
        low, high, passes = run(problem, reads, betas, None if initial is None else initial[1],
                                seed, self.backend, exact_low=self.exact_low)
        return BlockSamples(low, high, problem.energy(low, high),
                            {"sweeps": self.sweeps, "reads": reads,
                             "problems": problem.num_problems,
                             "finish_passes": float(passes.mean())})
