"""A block sampler that anneals nothing and records every call made of it.

:class:`CountingSampler` answers at once (the start states it is given, or random spins) and
keeps, per call, the block's shape and the reads of the QPU problems the call would be, grouped
as the QPU sampler groups them (:func:`~layersweep.samplers.qpu.qpu_jobs`). Driving the real
training step against it gives the calls a run makes, exactly as the step makes them: the
dry run (:mod:`layersweep.cost`) prices them, tests compare them with the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blocks import BlockProblem, BlockSamples
from .base import BlockSampler
from .qpu import qpu_jobs


@dataclass(frozen=True)
class Call:
    """One sampler call: block ``shape`` K(a, b), ``problems`` block problems of ``reads``
    reads each, from given start states (``started``) or random ones, and the reads of each
    QPU problem it makes (``jobs``)."""

    shape: tuple
    problems: int
    reads: int
    started: bool
    jobs: tuple


class CountingSampler(BlockSampler):
    """Records each call (:attr:`calls`, a list of :class:`Call`) and returns the start
    states, or random spins drawn from the call's seed."""

    def __init__(self):
        self.calls: list[Call] = []

    @property
    def properties(self) -> dict:
        return {"name": "counting"}

    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        a, b = problem.shape
        P = problem.num_problems
        jobs = tuple(len(idx) for _, _, idx in qpu_jobs(problem, reads, initial))
        self.calls.append(Call((a, b), P, reads, initial is not None, jobs))
        if initial is not None:
            low, high = (np.array(s, np.float32) for s in initial)
        else:
            rng = np.random.default_rng(seed)
            low = rng.choice(np.float32([-1, 1]), (P, reads, a))
            high = rng.choice(np.float32([-1, 1]), (P, reads, b))
        return BlockSamples(low, high, problem.energy(low, high), {})

    def take(self) -> list:
        """The calls recorded since the last ``take``."""
        calls, self.calls = self.calls, []
        return calls
