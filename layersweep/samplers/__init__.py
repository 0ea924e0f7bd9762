"""Block samplers: one protocol (:class:`~.base.BlockSampler`), several implementations.

- ``numpy`` (default): :class:`~.annealer.BipartiteAnnealer`, batched heat-bath annealing on
  the CPU;
- ``neal``: :class:`~.dimod_sampler.NealSampler`, dwave-samplers' simulated annealer, one BQM
  per problem;
- any ``dimod.Sampler``: :class:`~.dimod_sampler.DimodBlockSampler`;
- ``dwave`` / ``dwave:<solver>``: :class:`~.qpu.QPUBlockSampler` on a D-Wave QPU (Leap
  account);
- ``mock:pegasus:16``, ``mock:zephyr:12,4``: the same QPU path on an offline mock QPU.
"""

from __future__ import annotations

import dimod

from ..exceptions import SamplerError
from .annealer import BipartiteAnnealer
from .base import BlockSampler
from .bipartite import BipartiteSampler
from .dimod_sampler import DimodBlockSampler, NealSampler
from .qpu import QPUBlockSampler

SAMPLERS = {"numpy": BipartiteAnnealer, "neal": NealSampler}
#: keyword arguments of the CPU annealers' schedule, which QPU samplers do not use
CPU_SCHEDULE = ("sweeps", "beta_range", "reverse_beta")
#: keyword arguments of the state-vector sampler that ``make_sampler`` passes on
STATEVECTOR_OPTIONS = ("annealing_time", "steps", "s_pause", "max_qubits")

__all__ = ["BlockSampler", "BipartiteAnnealer", "BipartiteSampler", "NealSampler",
           "DimodBlockSampler", "QPUBlockSampler", "make_sampler", "is_qpu_spec", "SAMPLERS"]


def is_qpu_spec(spec) -> bool:
    """True for ``"dwave"``, ``"dwave:<solver>"`` and ``"mock:<topology>"``."""
    return isinstance(spec, str) and (spec == "dwave" or spec.startswith(("dwave:", "mock:")))


def make_sampler(spec="numpy", **schedule) -> BlockSampler:
    """A block sampler from a name, a ``dimod.Sampler`` or a :class:`~.base.BlockSampler`.

    Names: ``"numpy"``, ``"neal"`` (``schedule``: ``sweeps``, ``beta_range``,
    ``reverse_beta``); ``"statevector"`` (exact quantum annealing of small blocks;
    ``schedule``: ``annealing_time``, ``steps``, ``s_pause``, ``max_qubits``, the CPU keys
    ignored); ``"dwave"`` or ``"dwave:<solver>"`` (a name, ``zephyr``/``pegasus``, or
    ``key=value`` filters; see :func:`~layersweep.samplers.cloud.parse_solver`) and
    ``"mock:pegasus:16"`` / ``"mock:zephyr:12,4"``, whose ``schedule`` is
    :class:`~.qpu.QPUBlockSampler`'s keyword arguments plus ``solver`` (the CPU schedule keys
    are ignored). A ``dimod.Sampler`` with a QPU's structure (``DWaveSampler``,
    ``MockDWaveSampler``) becomes a :class:`~.qpu.QPUBlockSampler`; any other one a
    :class:`~.dimod_sampler.DimodBlockSampler`.
    """
    if isinstance(spec, BlockSampler):
        return spec
    if isinstance(spec, dimod.Sampler):
        if hasattr(spec, "nodelist") and "anneal_schedule" in spec.parameters:
            return QPUBlockSampler(spec)
        return DimodBlockSampler(spec)
    if isinstance(spec, str) and spec in SAMPLERS:
        return SAMPLERS[spec](**schedule)
    if spec == "statevector":
        from .statevector import StateVectorSampler

        return StateVectorSampler(**{k: v for k, v in schedule.items()
                                     if k in STATEVECTOR_OPTIONS and v is not None})
    if is_qpu_spec(spec):
        options = {k: v for k, v in schedule.items() if k not in CPU_SCHEDULE}
        solver = options.pop("solver", None)
        kind, _, rest = spec.partition(":")
        if kind == "mock":
            from .mock import mock_from_spec

            return QPUBlockSampler(mock_from_spec(rest), **options)
        from .cloud import connect

        return QPUBlockSampler(connect(solver or rest or None), **options)
    raise SamplerError(
        f"unknown sampler {spec!r}: use one of {sorted(SAMPLERS)}, 'dwave', 'dwave:<solver>', "
        f"'mock:pegasus:16', 'mock:zephyr:12,4', a dimod.Sampler instance or a layersweep "
        f"BlockSampler")
