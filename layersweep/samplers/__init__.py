"""Block samplers: one protocol (:class:`BlockSampler`), several implementations.

- ``numpy`` (default): :class:`BipartiteAnnealer`, batched heat-bath annealing on the CPU;
- ``neal``: :class:`NealSampler`, dwave-samplers' simulated annealer, one BQM per problem;
- any ``dimod.Sampler``: :class:`DimodBlockSampler`.
"""

from __future__ import annotations

import dimod

from ..exceptions import SamplerError
from .annealer import BipartiteAnnealer
from .base import BlockSampler
from .dimod_sampler import DimodBlockSampler, NealSampler

SAMPLERS = {"numpy": BipartiteAnnealer, "neal": NealSampler}

__all__ = ["BlockSampler", "BipartiteAnnealer", "NealSampler", "DimodBlockSampler",
           "make_sampler", "SAMPLERS"]


def make_sampler(spec="numpy", **schedule) -> BlockSampler:
    """A block sampler from a name (``"numpy"``, ``"neal"``), a ``dimod.Sampler`` or a
    :class:`BlockSampler`. ``schedule`` (``sweeps``, ``beta_range``, ``reverse_beta``) goes to
    the named annealers."""
    if isinstance(spec, BlockSampler):
        return spec
    if isinstance(spec, dimod.Sampler):
        return DimodBlockSampler(spec)
    if isinstance(spec, str) and spec in SAMPLERS:
        return SAMPLERS[spec](**schedule)
    raise SamplerError(
        f"unknown sampler {spec!r}: use one of {sorted(SAMPLERS)}, a dimod.Sampler instance "
        f"or a layersweep BlockSampler")
