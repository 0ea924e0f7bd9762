"""Exact quantum annealing of small blocks: a state-vector simulation.

A block K(a, b) of ``n = a + b`` spins is ``n`` qubits, in the BQM's labelling (qubit ``j`` is
low unit ``j`` for ``j < a``, high unit ``j - a`` otherwise). Its annealing Hamiltonian is::

    H(s) = - A(s) sum_j X_j  +  B(s) H_P / field_scale,      A = 1 - s,  B = s,

with ``H_P`` diagonal, the block's energy ``E(low, high)`` on each basis state. Dividing by the
problem's :meth:`~layersweep.blocks.BlockProblem.field_scale` makes time dimensionless (in
units of ``hbar / field_scale``), so an ``annealing_time`` means the same as the weights grow.

**Bit convention.** A basis state ``|k>``, ``0 <= k < 2**n``, has qubit ``j`` in bit
``n - 1 - j`` of ``k`` (qubit 0 is the most significant bit: the state reshaped to
``(2,) * n`` has qubit ``j`` on axis ``j``). Bit 0 is spin +1, bit 1 is spin -1: a spin is the
eigenvalue of ``Z_j`` (``Z|0> = |0>``). :func:`basis_index` and :func:`basis_spins` convert.

**Schedules** are piecewise-linear lists of ``[t, s]`` points (D-Wave's format, times
dimensionless): a forward anneal ``[[0, 0], [T, 1]]`` starts in ``|+>^n`` (the ground state of
``H(0)``); a reverse anneal ``[[0, 1], [T/2, s_pause], [T, 1]]`` starts in a basis state, ramps
down to ``s_pause`` in half the time and back up in the other half (no pause).

**Time evolution.** ``steps`` piecewise-constant steps (spread over the schedule's segments in
proportion to their durations); each step of length ``dt`` at the mid-step value of ``s`` is a
symmetric (Strang) splitting ``exp(-i dt B H_P / 2) exp(+i dt A sum X) exp(-i dt B H_P / 2)``:
the diagonal factor is exact, the mixer is a rotation ``cos(dt A) I + i sin(dt A) X`` of each
qubit (one pass over the state per qubit). Adjacent diagonal half-steps are merged. Every
factor is unitary, so norms are kept to rounding (~1e-13), and :func:`evolve` with
``inverse=True`` applies the exact inverse (the adjoint) of the same product.

**Step rule** (:func:`auto_steps`, per problem): ``dt <= STEP / L`` with ``L = max(1, max_i
(|h_i| + sum_j |J_ij|) / field_scale)``, the largest local field a spin can feel in units
where the transverse field is 1 (the commutators that make the splitting error grow with
it); counts are rounded up to a multiple of :data:`STEP_QUANTUM`. The splitting is second
order: its error falls as ``dt**2``. With ``STEP = 0.1`` (~30 steps per unit of time on
Gaussian blocks) the final state differs from the exact time-dependent evolution by ~1e-3 in
2-norm, and its measurement probabilities by ~1e-4 in total variation, on K(2, 2) to K(8, 6)
blocks with Gaussian weights, forward and reverse anneals of ``annealing_time = 10``; pass
``steps`` for more accuracy (10 times the steps: 100 times smaller errors).

**Cost.** ``steps * n`` passes over ``2**n`` complex amplitudes per problem: a K(8, 8) block
(16 qubits, ~350 steps at ``annealing_time = 10``) takes ~1 s per problem on one core.
Memory is :data:`BYTES_PER_AMPLITUDE` per amplitude (state, phases, energies, work arrays);
small problems are simulated in batches of :data:`CHUNK_AMPLITUDES` amplitudes, larger ones
one at a time, so a call's memory is that of one large problem; blocks of more than
``max_qubits`` (at most :data:`MAX_QUBITS`, where one problem fills :data:`MEMORY_BUDGET`)
are refused. A reverse anneal costs one simulation per distinct start state.
"""

from __future__ import annotations

import math

import numpy as np

from ..blocks import BlockProblem, BlockSamples
from ..exceptions import SamplerError
from ..network import DTYPE
from .amplification import PROTOCOLS, anneals, bbht, estimate, exact
from .base import BlockSampler, SEED_LIMIT

#: splitting step ``dt * L`` (see the step rule in the module's docstring)
STEP = 0.1
#: step counts are rounded up to a multiple of this (problems with equal counts share a batch)
STEP_QUANTUM = 16
#: bytes of work arrays per amplitude of a problem's state (state, phases, energies, temporaries)
BYTES_PER_AMPLITUDE = 128
#: bytes one problem's arrays may hold: caps ``max_qubits``
MEMORY_BUDGET = 2 * 2 ** 30
#: amplitudes simulated together: small problems are batched up to this many (more runs
#: slower per problem once the arrays leave the CPU's caches); larger ones go one at a time
CHUNK_AMPLITUDES = 2 ** 16
#: the largest ``max_qubits`` a sampler accepts: one problem's arrays fit ``MEMORY_BUDGET``
MAX_QUBITS = int(math.log2(MEMORY_BUDGET // BYTES_PER_AMPLITUDE))


# ---- basis states ----------------------------------------------------------------------
def basis_spins(n: int) -> np.ndarray:
    """Spins of every basis state: ``(2**n, n)`` float32, row ``k`` is ``|k>``."""
    bits = (np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1
    return (1 - 2 * bits).astype(DTYPE)


def basis_index(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Basis-state index of spins ``low (..., a)``, ``high (..., b)`` -> ``(...)`` int64."""
    spins = np.concatenate([low, high], axis=-1)
    n = spins.shape[-1]
    weights = 1 << np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((spins < 0).astype(np.int64) * weights).sum(axis=-1)


def index_spins(index: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Spins of basis states ``index (...)`` -> ``low (..., a)``, ``high (..., b)`` float32."""
    n = a + b
    bits = (np.asarray(index, np.int64)[..., None] >> np.arange(n - 1, -1, -1)) & 1
    spins = (1 - 2 * bits).astype(DTYPE)
    return spins[..., :a], spins[..., a:]


def basis_energies(problem: BlockProblem, p=slice(None)) -> np.ndarray:
    """``E(low, high)`` of every basis state of problems ``p``: ``(P', 2**n)`` float64
    (``(2**n,)`` for an int ``p``), in the problem's units (not divided by field_scale)."""
    a, b = problem.shape
    J = problem.J.astype(np.float64)
    low, high = basis_spins(a).astype(np.float64), basis_spins(b).astype(np.float64)
    h_low = np.atleast_2d(problem.h_low[p]).astype(np.float64)
    h_high = np.atleast_2d(problem.h_high[p]).astype(np.float64)
    coupling = (low @ J.T) @ high.T                                    # (2**a, 2**b)
    energy = -(coupling[None] + (h_low @ low.T)[:, :, None] + (h_high @ high.T)[:, None, :])
    energy = energy.reshape(len(h_low), 2 ** (a + b))
    return energy[0] if isinstance(p, (int, np.integer)) else energy


def local_field_bound(problem: BlockProblem) -> np.ndarray:
    """``(P,)`` ``max(1, max_i (|h_i| + sum_j |J_ij|) / field_scale)``: the largest local field
    a spin can feel, in units of the transverse field at s = 0."""
    absJ = np.abs(problem.J.astype(np.float64))
    low = np.abs(problem.h_low.astype(np.float64)) + absJ.sum(axis=0)
    high = np.abs(problem.h_high.astype(np.float64)) + absJ.sum(axis=1)
    bound = np.maximum(low.max(axis=1), high.max(axis=1)) / problem.field_scale()
    return np.maximum(bound, 1.0)


# ---- schedules -------------------------------------------------------------------------
def anneal_schedule(annealing_time: float, s_pause: float | None = None) -> np.ndarray:
    """``(K, 2)`` points ``[t, s]``: forward ``[[0, 0], [T, 1]]`` when ``s_pause`` is None,
    else reverse ``[[0, 1], [T/2, s_pause], [T, 1]]``."""
    T = float(annealing_time)
    if s_pause is None:
        return np.array([[0.0, 0.0], [T, 1.0]])
    return np.array([[0.0, 1.0], [T / 2, float(s_pause)], [T, 1.0]])


def _check_schedule(schedule) -> np.ndarray:
    points = np.asarray(schedule, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise SamplerError(f"a schedule is a list of at least two [t, s] points; got {schedule!r}")
    t, s = points.T
    if not (np.all(np.isfinite(points)) and t[0] == 0 and np.all(np.diff(t) >= 0)
            and np.all((s >= 0) & (s <= 1))):
        raise SamplerError("schedule times must start at 0 and not decrease, and s must lie in "
                           f"[0, 1]; got {points.tolist()}")
    return points


def _grid(points: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Mid-step ``s`` and ``dt`` of ``steps`` steps spread over the schedule's segments in
    proportion to their durations (at least one step per segment of positive duration)."""
    t, s = points.T
    durations = np.diff(t)
    total = t[-1] - t[0]
    if total == 0:
        return np.zeros(0), np.zeros(0)
    live = np.flatnonzero(durations > 0)
    if steps < len(live):
        raise SamplerError(f"steps={steps} is fewer than the schedule's {len(live)} segments")
    counts = np.maximum(1, np.floor(steps * durations[live] / total).astype(int))
    counts[np.argmax(durations[live])] += steps - counts.sum()
    mids, dts = [], []
    for i, k in zip(live, counts):
        frac = (np.arange(k) + 0.5) / k
        mids.append(s[i] + (s[i + 1] - s[i]) * frac)
        dts.append(np.full(k, durations[i] / k))
    return np.concatenate(mids), np.concatenate(dts)


def auto_steps(problem: BlockProblem, schedule, p=slice(None)) -> np.ndarray:
    """Steps the step rule gives each problem ``p`` on ``schedule``: ``(P',)`` int (a multiple
    of :data:`STEP_QUANTUM`, at least the number of segments)."""
    points = _check_schedule(schedule)
    raw = np.ceil(points[-1, 0] * np.atleast_1d(local_field_bound(problem)[p]) / STEP)
    steps = np.maximum(STEP_QUANTUM, np.ceil(raw / STEP_QUANTUM) * STEP_QUANTUM).astype(int)
    return np.maximum(steps, len(points) - 1)


# ---- time evolution --------------------------------------------------------------------
def _mix(psi: np.ndarray, n: int, theta: float, work: np.ndarray) -> None:
    """``psi (C, 2**n) <- exp(+i theta sum_j X_j) psi`` in place: qubit j's rotation
    ``cos(theta) I + i sin(theta) X`` acts on axis j of the state seen as ``(C, 2, ..., 2)``.
    ``work``: a buffer of ``psi``'s shape."""
    c, s = math.cos(theta), 1j * math.sin(theta)
    for j in range(n):
        x = psi.reshape(psi.shape[0] * 2 ** j, 2, 2 ** (n - j - 1))
        flipped = work.reshape(x.shape)
        np.multiply(x[:, ::-1], s, out=flipped)       # i sin(theta) X x
        x *= c
        x += flipped


class _Phases:
    """``exp(-i w scaled)`` for a sequence of weights ``w``; where the weights step evenly
    (inside a schedule segment) one multiplication by ``exp(-i dw scaled)`` replaces ``exp``."""

    def __init__(self, scaled: np.ndarray):
        self.scaled, self.w, self.dw = scaled, None, None
        self.phase = self.step = None

    def __call__(self, w: float) -> np.ndarray:
        if w == self.w:
            return self.phase
        if self.dw is not None and abs((w - self.w) - self.dw) <= 1e-12 * abs(w):
            self.phase *= self.step
        else:
            if self.w is not None:
                self.dw = w - self.w
                self.step = np.exp((-1j * self.dw) * self.scaled)
            self.phase = np.exp((-1j * w) * self.scaled)
        self.w = w
        return self.phase


def _propagate(psi: np.ndarray, scaled: np.ndarray, n: int, mids: np.ndarray,
               dts: np.ndarray, inverse: bool) -> None:
    """Strang steps on ``psi (C, 2**n)`` complex128 in place; ``scaled (C, 2**n)``: energies
    divided by field_scale."""
    if len(dts) == 0:
        return
    half = dts * mids / 2                           # B dt / 2 of each step
    weights = np.concatenate([half[:1], half[:-1] + half[1:], half[-1:]])   # merged halves
    angles = dts * (1 - mids)                       # A dt
    if inverse:                                     # U^dagger: reversed order, negated times
        weights, angles = -weights[::-1], -angles[::-1]
    phases, work = _Phases(scaled), np.empty_like(psi)
    psi *= phases(weights[0])
    for k in range(len(angles)):
        _mix(psi, n, angles[k], work)
        if weights[k + 1]:
            psi *= phases(weights[k + 1])


def evolve(state: np.ndarray, problem: BlockProblem, p, schedule, steps: int | None = None,
           inverse: bool = False) -> np.ndarray:
    """The anneal ``U`` of problem(s) ``p`` along ``schedule`` applied to ``state``, or its
    inverse ``U^dagger`` (``inverse=True``: the same steps run backwards in time).

    ``state``: ``(2**n,)`` with an int ``p``, or ``(C, 2**n)`` with ``p`` ``(C,)`` problem
    indices; ``schedule``: ``[t, s]`` points (:func:`anneal_schedule`); ``steps``: None (the
    step rule, the most any of the problems needs) or an int. Returns a new complex128 array
    of ``state``'s shape; ``evolve(evolve(x, ...), ..., inverse=True)`` is ``x`` to ~1e-13.
    """
    points = _check_schedule(schedule)
    n = problem.num_spins
    single = np.ndim(p) == 0
    idx = np.atleast_1d(np.asarray(p, dtype=np.int64))
    psi = np.array(state, dtype=np.complex128).reshape(len(idx), -1)
    if psi.shape[1] != 2 ** n:
        raise SamplerError(f"a state of a block of {n} qubits has 2**{n} = {2 ** n} "
                           f"amplitudes; got {np.shape(state)}")
    if steps is None:
        steps = int(auto_steps(problem, points, idx).max())
    mids, dts = _grid(points, int(steps))
    scaled = basis_energies(problem, idx) / problem.field_scale()[idx, None].astype(np.float64)
    _propagate(psi, scaled, n, mids, dts, bool(inverse))
    return psi[0] if single else psi


def plus_state(n: int) -> np.ndarray:
    """``|+>^n``: ``(2**n,)`` complex128, every amplitude ``2**(-n/2)``."""
    return np.full(2 ** n, 2.0 ** (-n / 2), dtype=np.complex128)


def anneal_state(problem: BlockProblem, p: int, annealing_time: float, start=None,
                 s_pause: float = 0.7, steps: int | None = None) -> np.ndarray:
    """The final state ``(2**n,)`` of one anneal of problem ``p``: forward from ``|+>^n`` when
    ``start`` is None, else a reverse anneal to ``s_pause`` from the basis state of the spins
    ``start = (low (a,), high (b,))``."""
    n = problem.num_spins
    if start is None:
        return evolve(plus_state(n), problem, p, anneal_schedule(annealing_time), steps)
    psi = np.zeros(2 ** n, np.complex128)
    psi[basis_index(*start)] = 1.0
    return evolve(psi, problem, p, anneal_schedule(annealing_time, s_pause), steps)


# ---- amplitude amplification -----------------------------------------------------------
def marked_basis(marked_high: np.ndarray, a: int) -> np.ndarray:
    """An oracle on the high side, ``(..., 2**b)`` bool over its basis states, as a mask over
    the block's ``(..., 2**(a+b))`` basis states (the high side holds the low bits)."""
    marked_high = np.asarray(marked_high, bool)
    return np.tile(marked_high, (1,) * (marked_high.ndim - 1) + (2 ** a,))


def grover_state(problem: BlockProblem, p: int, annealing_time: float, marked_high,
                 k: int, steps: int | None = None) -> np.ndarray:
    """``G^k U|+>^n`` of problem ``p``, applying ``G = -U S_0 U^dagger S_m`` literally
    (``S_m`` flips the marked basis states, ``S_0`` reflects about ``|+>^n``): ``(2**n,)``.
    ``marked_high``: ``(2**b,)`` bool, the oracle on the high side's basis states. The
    sampler draws from the closed form of :mod:`~layersweep.samplers.amplification`; this
    is its check."""
    n = problem.num_spins
    mask = marked_basis(marked_high, problem.shape[0])
    schedule = anneal_schedule(annealing_time)
    plus = plus_state(n)
    psi = evolve(plus, problem, p, schedule, steps)
    for _ in range(int(k)):
        psi = np.where(mask, -psi, psi)
        psi = evolve(psi, problem, p, schedule, steps, inverse=True)
        psi = psi - 2 * plus * np.vdot(plus, psi)
        psi = -evolve(psi, problem, p, schedule, steps)
    return psi


def _measure(probabilities: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Basis states drawn from ``probabilities (2**n,)`` (not necessarily normalised) by
    inverting their cumulative sum at ``uniform (R,)`` in [0, 1)."""
    cumulative = np.cumsum(probabilities)
    found = np.searchsorted(cumulative, uniform * cumulative[-1], side="right")
    return np.minimum(found, len(probabilities) - 1)


# ---- the sampler -----------------------------------------------------------------------
class StateVectorSampler(BlockSampler):
    """Exact (state-vector) quantum annealing of small blocks; reads are measurements.

    Each problem is annealed once per distinct start state (forward from ``|+>^n`` without
    ``initial``; reverse, to ``s_pause`` and back, from each distinct reference state), and
    its reads are drawn from ``|<k|psi>|^2`` with ``numpy.random.default_rng(seed)``; they are
    returned as measured, with no descent or other post-processing.

    :meth:`sample_marked` draws samples of a marked component by amplitude amplification
    (a coherent annealer that can run its anneal backwards; see
    :mod:`~layersweep.samplers.amplification`).

    ``annealing_time``: in units of ``hbar / field_scale``; ``steps``: None (the step rule,
    per problem) or the number of splitting steps of every anneal; ``s_pause``: where
    reverse anneals turn back; ``max_qubits``: larger blocks are refused (at most
    :data:`MAX_QUBITS`); ``protocol``: how :meth:`sample_marked` reaches the marked
    component, ``"bbht"`` (for an unknown amplitude) or ``"exact"`` (the optimal iterations
    for the known amplitude: a bound); ``max_iterations``: the most Grover iterations of one
    attempt (None: ``ceil(pi/4 * 2**(n/2))``, a single marked basis state's optimum).

    The sampler counts the anneals it runs (a plain read is one; an attempt with ``k``
    iterations ``1 + 2k``) and the probabilities of the marked components it amplified;
    :meth:`take_tally` hands them to the training history.
    """

    def __init__(self, annealing_time: float = 10.0, steps: int | None = None,
                 s_pause: float = 0.7, max_qubits: int = 20, protocol: str = "bbht",
                 max_iterations: int | None = None):
        annealing_time = float(annealing_time)
        if not (math.isfinite(annealing_time) and annealing_time > 0):
            raise SamplerError(f"annealing_time must be finite and > 0; got {annealing_time!r}")
        if steps is not None and not (isinstance(steps, (int, np.integer)) and steps >= 2):
            raise SamplerError(f"steps must be None or an integer >= 2; got {steps!r}")
        if not 0.0 <= float(s_pause) <= 1.0:
            raise SamplerError(f"s_pause must lie in [0, 1]; got {s_pause!r}")
        if not (isinstance(max_qubits, (int, np.integer)) and 1 <= max_qubits <= MAX_QUBITS):
            raise SamplerError(f"max_qubits must be an integer in [1, {MAX_QUBITS}] (a state "
                               f"vector of 2**{MAX_QUBITS} amplitudes fills the memory budget "
                               f"of {MEMORY_BUDGET // 2 ** 30} GiB); got {max_qubits!r}")
        if protocol not in PROTOCOLS:
            raise SamplerError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
        if max_iterations is not None and not (isinstance(max_iterations, (int, np.integer))
                                               and max_iterations >= 1):
            raise SamplerError(f"max_iterations must be None or an integer >= 1; got "
                               f"{max_iterations!r}")
        self.annealing_time = annealing_time
        self.steps = None if steps is None else int(steps)
        self.s_pause = float(s_pause)
        self.max_qubits = int(max_qubits)
        self.protocol = protocol
        self.max_iterations = None if max_iterations is None else int(max_iterations)
        self._tally = {}

    @property
    def properties(self) -> dict:
        return {"name": "statevector", "annealing_time": self.annealing_time,
                "steps": self.steps, "s_pause": self.s_pause, "max_qubits": self.max_qubits,
                "protocol": self.protocol, "max_iterations": self.max_iterations}

    # ---- the tally of what was spent -----------------------------------------------------
    def _count(self, **figures) -> None:
        for key, value in figures.items():
            self._tally[key] = self._tally.get(key, 0) + value

    def take_tally(self) -> dict:
        """What was spent since the last call, and reset: ``anneals`` (every ``U`` or
        ``U^dagger`` run), ``marked_sum`` and ``marked_problems`` (the exact probabilities of
        the amplified components, summed, and how many)."""
        tally, self._tally = self._tally, {}
        return tally

    @staticmethod
    def summarize_tally(tally: dict) -> dict:
        """An epoch's history figures from its tally: ``anneals``, and with amplified
        samples ``marked_probability``, the mean of ``|A_m|**2`` over the problems."""
        row = {"anneals": int(tally.get("anneals", 0))}
        if tally.get("marked_problems"):
            row["marked_probability"] = tally["marked_sum"] / tally["marked_problems"]
        return row

    # ---- simulation ----------------------------------------------------------------------
    def _check_size(self, problem: BlockProblem) -> None:
        a, b = problem.shape
        if a + b > self.max_qubits:
            raise SamplerError(
                f"a block K({a}, {b}) is {a + b} qubits, more than this sampler's max_qubits="
                f"{self.max_qubits} (a state vector holds 2**n amplitudes)")

    def _simulate(self, problem: BlockProblem, points: np.ndarray, steps: np.ndarray,
                  jobs: list):
        """Final states of ``jobs`` ``[(problem, start index or -1 for |+>^n, rows)]``,
        yielded as ``(batch, psi (len(batch), 2**n))``; problems with equal step counts share
        batches of up to :data:`CHUNK_AMPLITUDES` amplitudes."""
        n = problem.num_spins
        chunk = max(1, CHUNK_AMPLITUDES >> n)
        scale = problem.field_scale().astype(np.float64)
        for count in np.unique(steps):
            mids, dts = _grid(points, int(count))
            todo = [job for job in jobs if steps[job[0]] == count]
            for lo in range(0, len(todo), chunk):
                batch = todo[lo:lo + chunk]
                idx = np.array([p for p, _, _ in batch])
                psi = np.zeros((len(batch), 2 ** n), np.complex128)
                for row, (_, start, _) in enumerate(batch):
                    if start < 0:
                        psi[row] = 2.0 ** (-n / 2)
                    else:
                        psi[row, start] = 1.0
                scaled = basis_energies(problem, idx) / scale[idx, None]
                _propagate(psi, scaled, n, mids, dts, inverse=False)
                yield batch, psi

    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        self._check_size(problem)
        a, b = problem.shape
        n = a + b
        P = problem.num_problems
        reverse = initial is not None
        points = anneal_schedule(self.annealing_time, self.s_pause if reverse else None)
        steps = np.full(P, self.steps) if self.steps else auto_steps(problem, points)
        # jobs: (problem, start index or -1 for |+>^n, the reads it serves)
        jobs = []
        if reverse:
            starts = basis_index(*initial)                       # (P, reads)
            for p in range(P):
                values, which = np.unique(starts[p], return_inverse=True)
                jobs += [(p, int(v), np.flatnonzero(which == g)) for g, v in enumerate(values)]
        else:
            jobs = [(p, -1, np.arange(reads)) for p in range(P)]
        uniform = np.random.default_rng(seed).random((P, reads))    # one number per read
        index = np.empty((P, reads), np.int64)
        for batch, psi in self._simulate(problem, points, steps, jobs):
            for row, (p, _, rows) in enumerate(batch):                  # measure
                index[p, rows] = _measure(np.abs(psi[row]) ** 2, uniform[p, rows])
        self._count(anneals=P * reads)
        low, high = index_spins(index, a, b)
        return BlockSamples(low, high, problem.energy(low, high),
                            {"qubits": n, "steps": int(steps.max()),
                             "annealing_time": self.annealing_time})

    def sample_marked(self, problem: BlockProblem, marked, reads: int, plain: int = 0,
                      seed: int | None = None) -> BlockSamples:
        """``plain`` plain reads and ``reads`` amplified samples of each problem's forward
        anneal from ``|+>^n``.

        ``marked``: ``(P, 2**b)`` bool, the oracle: the high side's basis states whose phase
        ``S_m`` flips (for the output block: the outputs that do not predict the image's
        class). Each amplified sample is one search by :attr:`protocol`
        (:mod:`~layersweep.samplers.amplification`): marked, unless it spent its budget of
        ``8 (1 + 2 k_cap)`` anneals first (then its last, unmarked, measurement). Returns
        ``plain + reads`` reads per problem, the plain ones first, with ``info``:
        ``"marked"`` ``(P, R)`` bool; ``"estimate"`` ``(P,)``, ``|A_m|**2`` estimated by
        maximum likelihood from every measurement made (plain reads count as ``k = 0``; the
        ``"exact"`` protocol knows it); ``"probability"`` ``(P,)``, its exact value (what a
        simulation can tell and a device cannot); ``"anneals"`` ``(P,)``, the anneals run.
        """
        if not isinstance(problem, BlockProblem):
            raise TypeError(f"problem must be a BlockProblem; got {type(problem).__name__}")
        for name, value, low in (("reads", reads, 1), ("plain", plain, 0)):
            if not isinstance(value, (int, np.integer)) or value < low:
                raise SamplerError(f"{name} must be an integer >= {low}; got {value!r}")
        if seed is not None and not (isinstance(seed, (int, np.integer))
                                     and 0 <= seed < SEED_LIMIT):
            raise SamplerError(f"seed must be an int in [0, 2**31) or None; got {seed!r}")
        self._check_size(problem)
        a, b = problem.shape
        n, P = a + b, problem.num_problems
        marked = np.asarray(marked)
        if marked.shape != (P, 2 ** b) or marked.dtype != bool:
            raise SamplerError(f"marked must be a ({P}, 2**{b}) bool array (one row per "
                               f"problem, one column per basis state of the high side); got "
                               f"{marked.dtype} {marked.shape}")
        mask = marked_basis(marked, a)
        k_cap = self.max_iterations or math.ceil(math.pi / 4 * 2 ** (n / 2))
        budget = 8 * (1 + 2 * k_cap)
        search = bbht if self.protocol == "bbht" else exact
        points = anneal_schedule(self.annealing_time)
        steps = np.full(P, self.steps) if self.steps else auto_steps(problem, points)
        rng = np.random.default_rng(seed)
        total = plain + reads
        index = np.empty((P, total), np.int64)
        found = np.zeros((P, total), bool)
        estimates, probabilities, spent = np.empty(P), np.empty(P), np.zeros(P, np.int64)
        jobs = [(p, -1, None) for p in range(P)]
        for batch, psi in self._simulate(problem, points, steps, jobs):
            for row, (p, _, _) in enumerate(batch):
                probs = np.abs(psi[row]) ** 2
                probs /= probs.sum()
                parts = (probs * ~mask[p], probs * mask[p])      # unmarked, marked
                prob = float(np.clip(parts[1].sum(), 0.0, 1.0))
                theta = math.asin(math.sqrt(prob))
                index[p, :plain] = _measure(probs, rng.random(plain))
                found[p, :plain] = mask[p][index[p, :plain]]
                counts = {0: [int(found[p, :plain].sum()), plain]}
                for r in range(plain, total):
                    hit, attempts = search(theta, rng, k_cap, budget)
                    spent[p] += anneals(attempts)
                    for j, k in enumerate(attempts):
                        count = counts.setdefault(k, [0, 0])
                        count[0] += hit and j == len(attempts) - 1
                        count[1] += 1
                    part = parts[int(hit)]
                    index[p, r] = _measure(part if part.sum() > 0 else probs,
                                           rng.random(1))[0]
                    found[p, r] = hit
                probabilities[p] = prob
                estimates[p] = prob if self.protocol == "exact" else estimate(counts)
                spent[p] += plain
        self._count(anneals=int(spent.sum()), marked_sum=float(probabilities.sum()),
                    marked_problems=P)
        low, high = index_spins(index, a, b)
        return BlockSamples(low, high, problem.energy(low, high),
                            {"qubits": n, "annealing_time": self.annealing_time,
                             "protocol": self.protocol, "marked": found,
                             "estimate": estimates, "probability": probabilities,
                             "anneals": spent})
