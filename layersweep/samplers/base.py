"""The block-sampler protocol: one small interface, several implementations.

A block sampler takes a :class:`~layersweep.blocks.BlockProblem` (P problems on K(a, b) that
share their couplings) and returns ``reads`` low-energy samples of each as
:class:`~layersweep.blocks.BlockSamples`. It may start each read from a given state (a
reference state: reverse annealing on a QPU, a warm start for a simulated annealer) or from a
random one. Like dimod's ``Sampler``, it advertises the keyword arguments it accepts in
``parameters`` and what it is in ``properties``. It knows nothing about training.
"""

from __future__ import annotations

import abc
import time

import numpy as np

from ..blocks import BlockProblem, BlockSamples
from ..exceptions import BlockError, SamplerError

SEED_LIMIT = 2 ** 31


class BlockSampler(abc.ABC):
    """Base class: validates arguments at the boundary, then calls :meth:`_sample`."""

    #: keyword arguments of :meth:`sample` (name -> short description)
    parameters = {"reads": "samples per problem", "initial": "(low, high) start states",
                  "seed": "int seed in [0, 2**31)"}

    @property
    def properties(self) -> dict:
        """What the sampler is (its configuration), JSON-serialisable."""
        return {"name": type(self).__name__}

    def sample(self, problem: BlockProblem, reads: int = 1, initial=None,
               seed: int | None = None) -> BlockSamples:
        """``reads`` samples of each problem.

        ``initial``: ``None`` (random starts) or ``(low, high)`` of shapes ``(P, reads, a)`` and
        ``(P, reads, b)``, ±1. ``seed``: an int in ``[0, 2**31)`` or None.
        """
        if not isinstance(problem, BlockProblem):
            raise TypeError(f"problem must be a BlockProblem; got {type(problem).__name__}")
        if not isinstance(reads, (int, np.integer)) or reads < 1:
            raise BlockError(f"reads must be a positive integer; got {reads!r}")
        if seed is not None and not (isinstance(seed, (int, np.integer)) and 0 <= seed < SEED_LIMIT):
            raise SamplerError(f"seed must be an int in [0, 2**31) or None; got {seed!r}")
        if initial is not None:
            initial = self._check_initial(problem, reads, initial)
        start = time.perf_counter()
        result = self._sample(problem, int(reads), initial, seed)
        result.info.setdefault("seconds", time.perf_counter() - start)
        return result

    @staticmethod
    def _check_initial(problem, reads, initial):
        low, high = (np.asarray(s, dtype=np.float32) for s in initial)
        a, b = problem.shape
        want = ((problem.num_problems, reads, a), (problem.num_problems, reads, b))
        if (low.shape, high.shape) != want:
            raise BlockError(f"initial states must have shapes {want}; got {(low.shape, high.shape)}")
        if not (np.all(np.abs(low) == 1) and np.all(np.abs(high) == 1)):
            raise BlockError("initial states must be spins: every value -1 or +1")
        return low, high

    @abc.abstractmethod
    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        """Implementations: arguments already validated."""


def geometric_betas(start: float, stop: float, steps: int) -> np.ndarray:
    """``steps`` inverse temperatures from ``start`` to ``stop``, geometrically spaced."""
    if steps == 1:
        return np.array([stop], dtype=np.float32)
    return np.geomspace(start, stop, steps).astype(np.float32)


def check_schedule(sweeps, beta_range, reverse_beta):
    """Validate an annealing schedule given in units of 1 / field scale."""
    if not isinstance(sweeps, (int, np.integer)) or sweeps < 1:
        raise SamplerError(f"sweeps must be a positive integer; got {sweeps!r}")
    lo, hi = (float(v) for v in beta_range)
    if not 0 < lo <= hi:
        raise SamplerError(f"beta_range must be (low, high) with 0 < low <= high; got {beta_range!r}")
    if not lo <= float(reverse_beta) <= hi:
        raise SamplerError(
            f"reverse_beta must lie inside beta_range {beta_range!r}; got {reverse_beta!r}")
    return int(sweeps), (lo, hi), float(reverse_beta)
