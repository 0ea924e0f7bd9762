"""Block samplers built on any dimod sampler: one BQM per problem, Ocean's interface.

:class:`DimodBlockSampler` wraps a user's ``dimod.Sampler`` (``dimod.ExactSolver`` for tiny
blocks, a ``dwave.system`` composite, ...). It passes ``num_reads``, ``seed`` and
``initial_states`` only where the sampler's ``parameters`` say it accepts them, and keeps the
``reads`` lowest-energy rows of each answer (cycling through them if it returned fewer).
:class:`NealSampler` is dwave-samplers' simulated annealer (the field's reference CPU
sampler) with the same relative temperature schedule as the default annealer.
"""

from __future__ import annotations

import dimod
import numpy as np

from ..blocks import BlockProblem, BlockSamples
from ..exceptions import SamplerError
from .base import BlockSampler, check_schedule


class DimodBlockSampler(BlockSampler):
    """Any ``dimod.Sampler`` as a block sampler. ``sample_kwargs`` go to every call."""

    def __init__(self, sampler, **sample_kwargs):
        if not isinstance(sampler, dimod.Sampler):
            raise SamplerError(
                f"sampler must be a dimod.Sampler (e.g. dimod.ExactSolver()); "
                f"got {type(sampler).__name__}")
        self.sampler = sampler
        self.sample_kwargs = sample_kwargs

    @property
    def properties(self) -> dict:
        return {"name": "dimod", "sampler": type(self.sampler).__name__,
                "kwargs": {k: repr(v) for k, v in self.sample_kwargs.items()}}

    def _problem_kwargs(self, problem: BlockProblem, warm: bool) -> list[dict]:
        """Keyword arguments for each problem beyond the shared ones (subclass hook)."""
        return [{} for _ in range(problem.num_problems)]

    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        accepts = self.sampler.parameters
        rng = np.random.default_rng(seed)
        a, b = problem.shape
        P = problem.num_problems
        low = np.empty((P, reads, a), np.float32)
        high = np.empty((P, reads, b), np.float32)
        extra = self._problem_kwargs(problem, initial is not None)
        for p in range(P):
            bqm = problem.to_bqm(p)
            kwargs = dict(self.sample_kwargs, **extra[p])
            if "num_reads" in accepts:
                kwargs["num_reads"] = reads
            if "seed" in accepts:
                kwargs["seed"] = int(rng.integers(2 ** 31))
            if initial is not None and "initial_states" in accepts:
                kwargs["initial_states"] = (problem.spins_to_dimod(initial[0][p], initial[1][p]),
                                            list(range(a + b)))
            answer = self.sampler.sample(bqm, **kwargs)
            if sorted(answer.variables) != list(range(a + b)) or len(answer) == 0:
                raise SamplerError(
                    f"{type(self.sampler).__name__} returned {len(answer)} samples over "
                    f"{len(answer.variables)} variables for a block of {a + b} spins")
            order = np.argsort(answer.record.energy, kind="stable")
            columns = np.argsort(np.fromiter(answer.variables, dtype=np.int64))
            table = answer.record.sample[order][:, columns]
            pick = np.resize(np.arange(table.shape[0]), reads) if table.shape[0] < reads \
                else np.arange(reads)
            low[p], high[p] = problem.spins_from_dimod(table[pick])
        return BlockSamples(low, high, problem.energy(low, high), {"reads": reads, "problems": P})


class NealSampler(DimodBlockSampler):
    """dwave-samplers' ``SimulatedAnnealingSampler`` (what dwave-neal now is) per problem.

    Same schedule parameters as :class:`~layersweep.samplers.annealer.BipartiteAnnealer`, in
    units of ``1 / field_scale``; start states begin at ``reverse_beta`` (reverse-anneal
    emulation). Metropolis single-spin sweeps, geometric schedule.
    """

    def __init__(self, sweeps: int = 32, beta_range=(0.1, 4.0), reverse_beta: float = 0.8):
        from dwave.samplers import SimulatedAnnealingSampler

        self.sweeps, self.beta_range, self.reverse_beta = check_schedule(
            sweeps, beta_range, reverse_beta)
        super().__init__(SimulatedAnnealingSampler(), num_sweeps=self.sweeps,
                         beta_schedule_type="geometric")

    @property
    def properties(self) -> dict:
        return {"name": "neal", "sweeps": self.sweeps, "beta_range": list(self.beta_range),
                "reverse_beta": self.reverse_beta}

    def _problem_kwargs(self, problem, warm):
        start = self.reverse_beta if warm else self.beta_range[0]
        return [{"beta_range": (start / scale, self.beta_range[1] / scale)}
                for scale in problem.field_scale().astype(float)]
