"""The default block sampler: simulated annealing that exploits the block's structure.

A block is bipartite (no couplings inside a layer), so all spins of one side are independent
given the other: one half-sweep updates a whole side at once by heat-bath (Gibbs) moves, and
for all P problems and R reads together the fields come from a single matrix product
``(P*R, b) @ (b, a)`` with the shared couplings. A sweep is the low side, then the high side.
A zero-temperature finish (:func:`~layersweep.blocks.descend`) ends every read in a local
minimum with respect to any change of a whole side.

Inverse temperatures are in units of ``1 / field_scale`` of each problem (DESIGN §3). Random
starts anneal along ``beta_range``; given start states (reference states) the anneal emulates
a reverse anneal: it starts at the moderate ``reverse_beta`` and cools to ``beta_range[1]``.
"""

from __future__ import annotations

import numpy as np

from ..blocks import BlockProblem, BlockSamples, descend
from ..network import DTYPE
from .base import BlockSampler, check_schedule, geometric_betas


class BipartiteAnnealer(BlockSampler):
    """Heat-bath simulated annealing of a batch of block problems, whole sides at a time.

    ``sweeps``: sweeps per read; ``beta_range``: (hot, cold) inverse temperatures in units of
    ``1 / field_scale``; ``reverse_beta``: where an anneal from a given start state begins.
    """

    def __init__(self, sweeps: int = 32, beta_range=(0.1, 4.0), reverse_beta: float = 0.8):
        self.sweeps, self.beta_range, self.reverse_beta = check_schedule(
            sweeps, beta_range, reverse_beta)

    @property
    def properties(self) -> dict:
        return {"name": "numpy", "sweeps": self.sweeps, "beta_range": list(self.beta_range),
                "reverse_beta": self.reverse_beta}

    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        rng = np.random.default_rng(seed)
        P = problem.num_problems
        a, b = problem.shape
        if initial is None:
            high = rng.integers(0, 2, size=(P, reads, b), dtype=np.int8).astype(DTYPE) * 2 - 1
            start = self.beta_range[0]
        else:
            high = initial[1].copy()
            start = self.reverse_beta
        betas = geometric_betas(start, self.beta_range[1], self.sweeps)
        inv_scale = (1.0 / problem.field_scale())[:, None, None]
        for beta in betas:
            low = self._heat_bath(problem.low_field(high), beta * inv_scale, rng)
            high = self._heat_bath(problem.high_field(low), beta * inv_scale, rng)
        low, high = descend(problem, low, high)
        return BlockSamples(low, high, problem.energy(low, high),
                            {"sweeps": self.sweeps, "reads": reads, "problems": P})

    @staticmethod
    def _heat_bath(field: np.ndarray, beta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each spin +1 with probability ``(1 + tanh(beta f)) / 2``, else -1."""
        threshold = np.tanh(field * beta)
        noise = rng.random(field.shape, dtype=DTYPE) * 2 - 1
        return np.where(noise < threshold, DTYPE(1), DTYPE(-1))
