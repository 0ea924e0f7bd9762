"""An offline QPU for users and tests: ``MockDWaveSampler`` that honours reverse annealing.

dwave-system's ``MockDWaveSampler`` has a QPU's structure, ranges and parameters but ignores
``initial_state`` and ``anneal_schedule`` (its substitute is a steepest descent from random
states) and reports constant timing. :class:`MockQPUSampler` keeps the structure and replaces
the physics by dwave-samplers' ``SimulatedAnnealingSampler`` (Metropolis, single-qubit moves)
driven by the anneal schedule:

* **s -> inverse temperature.** A point at anneal fraction s of the schedule is simulated at
  ``beta(s) = beta_hot * (beta_cold / beta_hot) ** s`` (in the units of the scaled, embedded
  problem: ``|J| <= 1``). s = 1 is frozen (``beta_cold``, default 10: a qubit of a chain does
  not flip), s = 0 is hot (``beta_hot``, default 0.1: chains and spins fluctuate freely). The
  default ``s_pause = 0.7`` of the QPU sampler is ``beta ~ 2.5``: chains hold and logical
  spins can still flip. This is a caricature of a QPU's freeze-out (the transverse
  field ``A(s)`` falls and the problem energy ``B(s)`` rises with s), good enough to show that a
  reverse anneal starts from its state and goes further the deeper ``s_pause`` is.
* **time -> sweeps.** The schedule is sampled at ``sweeps_per_us`` sweeps per microsecond
  (default 5, at least ``min_sweeps``): a 20 µs anneal is 100 sweeps at ``beta(s(t))``.
* **reverse anneals** (schedule starting at s = 1) start every read from ``initial_state``
  (``reinitialize_state=True``; with False each read continues from the previous one), forward
  anneals from random states.
* **timing** comes from D-Wave's published timing model
  (:func:`layersweep.samplers.timing.access_time`), so the cost accounting sees plausible figures.
* ``seed`` is accepted (a real QPU has none) so that mock runs are reproducible.

Parameters a QPU accepts but the mock cannot honour (anneal offsets, flux biases, ...) are
accepted and ignored, as the stock mock does; unknown parameters raise ``ValueError``.
"""

from __future__ import annotations

import math
import uuid

import dimod
import numpy as np
from dwave.system.testing import MockDWaveSampler

from ..exceptions import SamplerError
from .timing import PUBLISHED_TIMING, access_time

__all__ = ["MockQPUSampler", "mock_from_spec"]


class MockQPUSampler(MockDWaveSampler):
    """A mock QPU of the given lattice whose anneals honour ``initial_state`` and
    ``anneal_schedule`` (see the module docstring for the mapping).

    Parameters
    ----------
    topology_type, topology_shape
        e.g. ``"pegasus", [16]`` or ``"zephyr", [12, 4]``.
    beta_range
        ``(beta_hot, beta_cold)``, inverse temperatures at s = 0 and s = 1.
    sweeps_per_us, min_sweeps
        simulated-annealing sweeps per µs of schedule, at least.
    **kwargs
        passed to ``MockDWaveSampler`` (``broken_nodes``, ``properties``, ...).
    """

    def __init__(self, topology_type="pegasus", topology_shape=(16,), *,
                 beta_range=(0.1, 10.0), sweeps_per_us=5.0, min_sweeps=10, **kwargs):
        from dwave.samplers import SimulatedAnnealingSampler

        hot, cold = (float(v) for v in beta_range)
        if not 0 < hot <= cold:
            raise SamplerError(f"beta_range must be (hot, cold) with 0 < hot <= cold; "
                               f"got {beta_range!r}")
        super().__init__(topology_type=topology_type, topology_shape=list(topology_shape),
                         substitute_sampler=SimulatedAnnealingSampler(),
                         parameter_warnings=False, **kwargs)
        self.beta_range = (hot, cold)
        self.sweeps_per_us, self.min_sweeps = float(sweeps_per_us), int(min_sweeps)
        shape = ",".join(str(s) for s in topology_shape)
        self.parameters = dict(self.parameters, seed=[])
        self.properties.update(chip_id=f"mock:{topology_type}:{shape}",
                               problem_timing_data=dict(PUBLISHED_TIMING))

    def beta(self, s) -> np.ndarray:
        """Inverse temperature at anneal fraction ``s`` (array or scalar)."""
        hot, cold = self.beta_range
        return hot * (cold / hot) ** np.asarray(s, dtype=float)

    def betas(self, schedule) -> np.ndarray:
        """One inverse temperature per sweep along a piecewise-linear ``[[t, s], ...]``."""
        times, fractions = (np.asarray(v, dtype=float) for v in zip(*schedule))
        sweeps = max(self.min_sweeps, math.ceil(self.sweeps_per_us * times[-1]))
        at = (np.arange(sweeps) + 0.5) * times[-1] / sweeps
        return self.beta(np.interp(at, times, fractions))

    @dimod.bqm_structured
    def sample(self, bqm, **kwargs):
        """Anneal ``bqm`` as a QPU would (see the module docstring)."""
        from dwave.system import DWaveSampler

        for kw in kwargs:
            if kw not in self.parameters:
                raise ValueError(f"kwarg {kw!r} invalid for MockQPUSampler()")
        num_reads = int(kwargs.get("num_reads", 1))
        low, high = self.properties["num_reads_range"]
        if not low <= num_reads <= high:
            raise ValueError(f"num_reads {num_reads} outside num_reads_range [{low}, {high}]")
        schedule = kwargs.get("anneal_schedule")
        if schedule is not None and kwargs.get("annealing_time") is not None:
            raise ValueError("set only one of anneal_schedule and annealing_time")
        if schedule is None:
            anneal = float(kwargs.get("annealing_time") or
                           self.properties["default_annealing_time"])
            schedule = [[0.0, 0.0], [anneal, 1.0]]
        DWaveSampler.validate_anneal_schedule(self, [list(p) for p in schedule])
        reverse = schedule[0][1] == 1
        state = kwargs.get("initial_state")
        if reverse and state is None:
            raise ValueError("a reverse anneal (anneal_schedule starting at s = 1) needs "
                             "initial_state")
        if not reverse and state is not None:
            raise ValueError("initial_state is only valid with a reverse anneal schedule")
        bqm = self._scaled(bqm, kwargs.get("auto_scale", True))
        variables = list(bqm.variables)
        betas = self.betas(schedule)
        seed = kwargs.get("seed")
        run = dict(beta_schedule_type="custom", beta_schedule=betas, num_sweeps_per_beta=1)
        if reverse:
            start = np.array([[state[v] for v in variables]], dtype=np.int8)
            if kwargs.get("reinitialize_state", True):
                ss = self.substitute_sampler.sample(
                    bqm, num_reads=num_reads, initial_states=(start, variables),
                    initial_states_generator="tile", seed=seed, **run)
            else:  # each read continues from where the previous one ended
                rng = np.random.default_rng(seed)
                parts = []
                for _ in range(num_reads):
                    part = self.substitute_sampler.sample(
                        bqm, num_reads=1, initial_states=(start, variables),
                        seed=int(rng.integers(2 ** 31)), **run)
                    start = part.record.sample[:, [part.variables.index(v) for v in variables]]
                    parts.append(part)
                ss = dimod.concatenate(parts)
        else:
            ss = self.substitute_sampler.sample(bqm, num_reads=num_reads, seed=seed, **run)
        timing = access_time(len(variables), num_reads, schedule[-1][0], reverse,
                             self.properties["problem_timing_data"])
        ss.info.update(problem_id=str(uuid.uuid4()), timing=timing)
        if kwargs.get("answer_mode", "histogram") == "histogram":
            ss = ss.aggregate()
        return ss

    def _scaled(self, bqm, auto_scale):
        """The problem as the QPU sees it: scaled into ``h_range``/``j_range`` (auto_scale), or
        refused when out of range."""
        h_low, h_high = self.properties["h_range"]
        j_low, j_high = self.properties["j_range"]
        h, (_, _, j), _ = bqm.to_numpy_vectors()
        if auto_scale:  # dimod's normalize, computed on arrays (it is the mock's hot spot)
            ratios = [np.max(np.maximum(h / h_high, h / h_low)) if len(h) else 0.0,
                      np.max(np.maximum(j / j_high, j / j_low)) if len(j) else 0.0]
            factor = max(ratios)
            if factor > 0 and not np.isclose(factor, 1.0):
                bqm = bqm.copy()
                bqm.scale(1.0 / factor)
            return bqm
        if (len(h) and (h.min() < h_low or h.max() > h_high)) or \
                (len(j) and (j.min() < j_low or j.max() > j_high)):
            raise ValueError("h or J out of the solver's range with auto_scale=False")
        return bqm


def mock_from_spec(spec: str, **kwargs) -> MockQPUSampler:
    """A :class:`MockQPUSampler` from ``"pegasus:16"``, ``"zephyr:12,4"``, ``"zephyr:12"``."""
    from ..exceptions import EmbeddingError
    from ..topology import parse_topology

    try:
        target = parse_topology(spec)
    except EmbeddingError as exc:
        raise SamplerError(f"mock QPU {spec!r}: {exc}") from None
    if target.family == "chimera":
        raise SamplerError("mock QPUs are pegasus or zephyr lattices, e.g. mock:pegasus:16")
    return MockQPUSampler(target.family, list(target.shape), **kwargs)
