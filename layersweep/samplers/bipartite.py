"""A ``dimod.Sampler`` for any bipartite BQM, on the default annealer's compiled kernel.

:class:`BipartiteSampler` takes a SPIN or BINARY binary quadratic model whose interaction
graph is bipartite (any labels, any number of connected components), splits its variables
into two sides by 2-colouring that graph, and anneals it with the block annealer's heat-bath
kernel (:func:`layersweep.samplers.annealer.run`): a sweep updates one whole side, then the
other, each spin from its exact conditional (Gibbs) distribution at the sweep's inverse
temperature. Its keyword arguments follow dwave-samplers' ``SimulatedAnnealingSampler``
(neal): ``num_reads``, ``num_sweeps``, ``beta_range``, ``beta_schedule_type``, ... with
inverse temperatures in the BQM's own energy units, as neal takes them.

A BQM whose graph has an odd cycle is refused with a
:class:`~layersweep.exceptions.SamplerError` (a ``ValueError``) that names one.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real

import dimod
import numpy as np
from numba import njit

from ..blocks import BlockProblem
from ..exceptions import SamplerError
from ..network import DTYPE
from . import _kernels
from .annealer import MAX_PASSES, run

__all__ = ["BipartiteSampler", "bipartition", "default_beta_range"]

SCHEDULE_TYPES = ("linear", "geometric", "custom")
SEED_LIMIT = 2 ** 31
#: labels of an odd cycle shown in the error message at most
CYCLE_SHOWN = 12


class BipartiteSampler(dimod.Sampler, dimod.Initialized):
    """Heat-bath simulated annealing of bipartite BQMs, one whole side at a time.

    A drop-in for neal on bipartite problems: the same keyword arguments (plus
    ``reverse_beta`` and ``finish``), the same default schedule, samples in the BQM's
    vartype and labels with energies computed by ``bqm.energies``.

    Examples
    --------
    >>> import dimod
    >>> from layersweep.samplers.bipartite import BipartiteSampler
    >>> bqm = dimod.BQM({"a": 1.0, "b": -0.5}, {("a", "b"): -1.0}, 0.0, "SPIN")
    >>> float(BipartiteSampler().sample(bqm, num_reads=4, seed=1).first.energy)
    -1.5
    """

    #: keyword arguments of :meth:`sample` (set per instance, as neal does)
    parameters = None
    #: what the sampler is
    properties = None

    def __init__(self):
        self.parameters = {
            "num_reads": [], "num_sweeps": [], "num_sweeps_per_beta": [], "beta_range": [],
            "beta_schedule_type": ["beta_schedule_options"], "beta_schedule": [], "seed": [],
            "initial_states": [], "initial_states_generator": [], "reverse_beta": [],
            "finish": [],
        }
        self.properties = {"beta_schedule_options": SCHEDULE_TYPES,
                           "update": "heat-bath, one side at a time",
                           "max_finish_passes": MAX_PASSES}

    def sample(self, bqm: dimod.BinaryQuadraticModel, beta_range=None, num_reads=None,
               num_sweeps=None, num_sweeps_per_beta: int = 1,
               beta_schedule_type: str = "geometric", beta_schedule=None, seed=None,
               initial_states=None, initial_states_generator: str = "random",
               reverse_beta=None, finish: bool = True, **kwargs) -> dimod.SampleSet:
        """Sample a bipartite binary quadratic model.

        Parameters
        ----------
        bqm : dimod.BinaryQuadraticModel
            SPIN or BINARY, any hashable labels; its interaction graph must be bipartite.
        beta_range : (float, float) or None
            Hot and cold inverse temperatures in the BQM's energy units (a sample has
            probability ~ ``exp(-beta * E)``), as neal takes them. None: neal's default,
            computed from the SPIN form of the BQM by :func:`default_beta_range`.
        num_reads : int or None
            Reads (independent anneals). None: the number of ``initial_states``, or 1.
        num_sweeps : int or None
            Sweeps per read; a sweep updates every variable once (one side, then the other).
            None: 1000, neal's default (or ``len(beta_schedule) * num_sweeps_per_beta``).
            0 returns the start states (after the finish, if ``finish``).
        num_sweeps_per_beta : int
            Sweeps at each inverse temperature of the schedule (default 1).
        beta_schedule_type : {"geometric", "linear", "custom"}
            How the ``num_sweeps / num_sweeps_per_beta`` inverse temperatures are spaced
            along ``beta_range``; ``"custom"`` takes them from ``beta_schedule``.
        beta_schedule : sequence of float or None
            The inverse temperatures (>= 0) of a ``"custom"`` schedule.
        seed : int or None
            In ``[0, 2**31)``; the same seed and arguments give the same samples (on any
            number of threads). None: a random seed.
        initial_states : samples-like or None
            Start states, one per read (``dimod.as_samples`` formats; SPIN or BINARY values).
            Reads from a given state emulate a reverse anneal: their schedule runs from
            ``reverse_beta`` to the cold end of ``beta_range`` in ``num_sweeps`` sweeps.
            Only the state of one side (the *high* side the anneal starts from) matters: the
            first half-sweep draws the other side from its exact conditional distribution.
        initial_states_generator : {"random", "tile", "none"}
            When fewer states than ``num_reads`` are given: ``"random"`` fills the rest with
            random starts (annealed along the whole ``beta_range``), ``"tile"`` repeats the
            given ones, ``"none"`` raises ``ValueError``.
        reverse_beta : float or None
            Inverse temperature (inside ``beta_range``) where reads from given states begin.
            None: ``beta_range[0]``, neal's behaviour (the whole schedule, from the given
            states). A cold value keeps the reads near their start states.
        finish : bool
            End every read with the zero-temperature descent (each side set to the sign of its
            field until nothing changes, at most ``MAX_PASSES`` passes): every read a local
            minimum with respect to flipping any set of spins of one side. Default True; pass
            False to sample the Boltzmann distribution at the last inverse temperature.
        **kwargs
            Unknown keyword arguments are dropped with a ``dimod.exceptions.SamplerUnknownArgWarning``.

        Returns
        -------
        dimod.SampleSet
            ``num_reads`` rows in read order, the BQM's variables and vartype, energies
            ``bqm.energies(samples)``. ``info``: ``beta_range``, ``beta_schedule_type``,
            ``finish_passes`` (mean finishing passes that changed something) and ``timing``
            (``preprocessing_ns``, ``sampling_ns``, ``postprocessing_ns``).
        """
        t0 = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            raise TypeError(f"bqm must be a dimod.BinaryQuadraticModel; got {type(bqm).__name__}")
        seed = _check_seed(seed)
        if num_reads is not None:
            _check_int("num_reads", num_reads, 1)
        _check_int("num_sweeps_per_beta", num_sweeps_per_beta, 1)
        if num_sweeps is not None:
            _check_int("num_sweeps", num_sweeps, 0)
        if not isinstance(finish, (bool, np.bool_)):
            raise TypeError(f"'finish' should be a bool; got {finish!r}")
        if initial_states_generator not in self._generators:
            raise ValueError(f"unknown value for 'initial_states_generator': "
                             f"{initial_states_generator!r}; use one of {sorted(self._generators)}")

        spin = bqm.spin  # BINARY -> SPIN without touching the caller's BQM
        labels = list(spin.variables)
        ldata, (irow, icol, qdata), _ = spin.to_numpy_vectors(variable_order=labels)
        irow = np.asarray(irow, np.int64)
        icol = np.asarray(icol, np.int64)
        side = _two_colouring(labels, irow, icol)
        # renumber: the low side (False) 0..a-1, then the high side
        perm = np.argsort(side, kind="stable")
        position = np.empty_like(perm)
        position[perm] = np.arange(len(perm))
        order = [labels[i] for i in perm]
        a = len(labels) - int(side.sum())
        ldata = np.asarray(ldata, np.float64)[perm]
        qdata = np.asarray(qdata, np.float64)
        irow, icol = position[irow], position[icol]

        betas, reverse, beta_range = _schedule(ldata, irow, icol, qdata, beta_range, num_sweeps,
                                               num_sweeps_per_beta, beta_schedule_type,
                                               beta_schedule, reverse_beta)

        # start states in the SPIN form and in ``order`` (parse_initial_states checks their
        # labels and values, converts BINARY <-> SPIN and fills or tiles them to num_reads)
        if initial_states is None:  # random starts, drawn by the kernel
            reads, given, start = 1 if num_reads is None else int(num_reads), 0, None
            if not finish and len(betas) == 0:  # nothing to do but return random states
                start = np.random.default_rng(seed).choice(
                    np.array([-1, 1], DTYPE), size=(reads, len(order)))
        else:
            given = len(dimod.as_samples(initial_states)[0])
            parsed = self.parse_initial_states(spin, initial_states=initial_states,
                                               initial_states_generator=initial_states_generator,
                                               num_reads=num_reads, seed=seed)
            reads = parsed.num_reads
            given = reads if initial_states_generator != "random" else min(given, reads)
            starts = parsed.initial_states
            column = {v: i for i, v in enumerate(starts.variables)}
            start = starts.record.sample[:, [column[v] for v in order]].astype(DTYPE)

        problem = _to_block_problem(ldata, irow, icol, qdata, a)
        t1 = time.perf_counter_ns()
        rows = np.empty((reads, len(order)), np.int8)
        passes = np.zeros(reads)
        # given states anneal from reverse_beta, random ones along the whole range (two calls
        # with unrelated seeds when both kinds are present and the schedules differ)
        groups = [(slice(0, given), reverse), (slice(given, reads), betas)]
        if given in (0, reads) or np.array_equal(reverse, betas):
            groups = [(slice(0, reads), reverse if given == reads else betas)]
        for k, (part, sched) in enumerate(groups):
            n = part.stop - part.start
            if n == 0 or not order:
                continue
            if len(sched) == 0 and not finish:
                rows[part] = start[part]
                continue
            low, high, moved = _anneal(problem, n, None if start is None else start[part, a:],
                                       sched, _group_seed(seed, k), MAX_PASSES if finish else 0)
            rows[part] = problem.spins_to_dimod(low[0], high[0])
            passes[part] = moved[0]
        t2 = time.perf_counter_ns()

        if bqm.vartype is dimod.BINARY:
            rows = (rows + 1) // 2
        info = {"beta_range": list(beta_range), "beta_schedule_type": beta_schedule_type,
                "finish_passes": float(passes.mean()) if reads else 0.0}
        sampleset = dimod.SampleSet.from_samples_bqm((rows, order), bqm, info=info)
        sampleset.info["timing"] = {"preprocessing_ns": t1 - t0, "sampling_ns": t2 - t1,
                                    "postprocessing_ns": time.perf_counter_ns() - t2}
        return sampleset


# ---- the BQM as a block problem ------------------------------------------------------------
def bipartition(bqm: dimod.BinaryQuadraticModel) -> tuple[list, list]:
    """The two sides of a bipartite BQM's interaction graph: ``(low, high)`` label lists.

    A breadth-first 2-colouring of every connected component (compiled: no Python loop over
    interactions). Isolated variables balance the sides; the larger side is ``low``. Raises
    :class:`SamplerError` naming an odd cycle if the graph is not bipartite.

    Parameters
    ----------
    bqm : dimod.BinaryQuadraticModel

    Returns
    -------
    low, high : list
        Labels of each side, in the BQM's variable order; ``len(low) >= len(high)``.
    """
    labels = list(bqm.variables)
    _, (irow, icol, _), _ = bqm.to_numpy_vectors(variable_order=labels)
    side = _two_colouring(labels, np.asarray(irow, np.int64), np.asarray(icol, np.int64))
    return [labels[i] for i in np.flatnonzero(~side)], [labels[i] for i in np.flatnonzero(side)]


def _two_colouring(labels, irow, icol) -> np.ndarray:
    """``(n,)`` bool: True on the high side (see :func:`bipartition`); interactions
    ``(irow[k], icol[k])`` index ``labels``."""
    n = len(labels)
    if n == 0:
        return np.zeros(0, bool)
    side, conflict = _bfs_colouring(n, irow, icol)
    if conflict >= 0:
        cycle = _odd_cycle(labels, irow, icol, int(conflict))
        raise SamplerError(
            f"BipartiteSampler needs a bipartite BQM; this one is not bipartite: its "
            f"interactions contain an odd cycle of length {len(cycle)}: "
            + " - ".join(map(repr, cycle[:CYCLE_SHOWN]))
            + (" - ..." if len(cycle) > CYCLE_SHOWN else "") + f" - {cycle[0]!r}")
    degree = np.bincount(np.concatenate([irow, icol]), minlength=n)
    isolated = np.flatnonzero(degree == 0)
    side[isolated] = False
    ones = int(side.sum())
    zeros = n - len(isolated) - ones
    # isolated variables balance the sides: k of them join side True
    k = max(0, min(len(isolated), (zeros + len(isolated) - ones + 1) // 2))
    side[isolated[:k]] = True
    if 2 * int(side.sum()) > n:
        side = ~side
    return side


@njit(cache=True, nogil=True)
def _bfs_colouring(n, irow, icol):
    """Breadth-first 2-colouring of the graph on ``n`` vertices with edges ``(irow, icol)``:
    ``(side (n,) bool, conflict)``, conflict a vertex of a component with an odd cycle, or -1.
    Isolated vertices get False."""
    m = len(irow)
    start = np.zeros(n + 1, np.int64)  # adjacency lists (CSR) by counting sort
    for k in range(m):
        start[irow[k] + 1] += 1
        start[icol[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    adjacent = np.empty(2 * m, np.int64)
    for k in range(m):
        u, v = irow[k], icol[k]
        adjacent[fill[u]] = v
        fill[u] += 1
        adjacent[fill[v]] = u
        fill[v] += 1
    colour = np.full(n, -1, np.int8)
    queue = np.empty(n, np.int64)
    for s in range(n):
        if colour[s] >= 0:
            continue
        colour[s] = 0
        queue[0] = s
        head, tail = 0, 1
        while head < tail:
            u = queue[head]
            head += 1
            for k in range(start[u], start[u + 1]):
                v = adjacent[k]
                if colour[v] < 0:
                    colour[v] = 1 - colour[u]
                    queue[tail] = v
                    tail += 1
                elif colour[v] == colour[u]:
                    return colour == 1, u
    return colour == 1, -1


def _odd_cycle(labels, irow, icol, u):
    """Labels along an odd cycle in the component of variable ``u`` (breadth-first search:
    an edge between two vertices of the same depth closes one through their common
    ancestor). Only called to explain an error."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_edges_from(zip(irow.tolist(), icol.tolist()))
    parent = {u: None}
    depth = {u: 0}
    for x, y in nx.bfs_edges(graph, u):
        parent[y], depth[y] = x, depth[x] + 1
    for x, y in graph.subgraph(depth).edges():
        if depth[x] == depth[y]:
            left, right = [x], [y]
            while left[-1] != right[-1]:
                left.append(parent[left[-1]])
                right.append(parent[right[-1]])
            path = left + right[-2::-1]  # x .. ancestor .. y
            return [labels[i] for i in path]
    return [labels[u]]  # pragma: no cover - a non-bipartite component has such an edge


def _to_block_problem(ldata, irow, icol, qdata, a) -> BlockProblem:
    """The SPIN BQM's vectors (variables ordered low side ``0..a-1``, then high side) as a
    one-problem :class:`BlockProblem`.

    This mirrors :meth:`BlockProblem.to_bqm` backwards: dimod's ``E = h.s + sum q s_i s_j``
    is the block's ``E = -h_block.s - high^T J low`` with ``h_block = -h`` and
    ``J[j - a, i] = -q`` for the interaction of low ``i`` and high ``j`` (the offset is left
    out; energies come from ``bqm.energies``).
    """
    n = len(ldata)
    lo = np.minimum(irow, icol)
    hi = np.maximum(irow, icol) - a
    J = np.zeros((n - a, a), DTYPE)
    J[hi, lo] = -qdata  # interactions are unique in a BQM: plain scatter
    return BlockProblem(J, -ldata[None, :a], -ldata[None, a:])


def _anneal(problem: BlockProblem, reads, high, betas, seed, max_passes):
    """``reads`` reads from the high-side start states ``high (reads, b)`` (None: random
    starts) along absolute ``betas``; returns ``low (1, reads, a)``, ``high (1, reads, b)``
    and the finishing passes ``(1, reads)``.

    :func:`~layersweep.samplers.annealer.run` takes inverse temperatures in units of
    ``1 / field_scale``; multiplying by the field scale makes them absolute again (the kernel
    draws each spin as +1 with probability ``sigmoid(2 beta f)``, f its local field).
    """
    scale = float(problem.field_scale()[0])
    units = (np.asarray(betas, np.float64) * scale).astype(DTYPE)
    return run(problem, reads, units, None if high is None else high[None], seed,
               max_passes=max_passes)


def _group_seed(seed: int, k: int) -> int:
    """The seed of the k-th group of reads of one call (k = 0: the call's seed)."""
    return seed if k == 0 else _kernels.mix64_int(seed * 0x100000001 + k) % SEED_LIMIT


# ---- schedule ------------------------------------------------------------------------------
def default_beta_range(bqm: dimod.BinaryQuadraticModel) -> list[float]:
    """neal's default ``beta_range`` (``dwave.samplers.sa.sampler.default_beta_range``),
    vectorised.

    Hot: ``log(2) / (2 max_i F_i)`` with ``F_i = |h_i| + sum_j |J_ij|`` (every spin flips
    with probability >= 1/2). Cold: ``log(m / 0.01) / (2 g)`` with ``g`` the smallest nonzero
    ``|h_i|`` or ``|J_ij|`` and ``m`` the number of variables whose smallest nonzero bias is
    ``g`` (excitations rarer than 1% on the last sweep). All biases zero: ``[0.1, 1.0]``.

    Parameters
    ----------
    bqm : dimod.BinaryQuadraticModel
        Taken in its SPIN form.

    Returns
    -------
    list of float
        ``[hot, cold]``.
    """
    ldata, (irow, icol, qdata), _ = bqm.spin.to_numpy_vectors()
    return _default_range(np.asarray(ldata, np.float64), np.asarray(irow, np.int64),
                          np.asarray(icol, np.int64), np.asarray(qdata, np.float64))


def _default_range(ldata, irow, icol, qdata) -> list[float]:
    n = len(ldata)
    h, q = np.abs(ldata), np.abs(qdata)
    total = h + np.bincount(irow, q, n) + np.bincount(icol, q, n)
    smallest = np.where(h != 0, h, np.inf)
    nz = q != 0
    np.minimum.at(smallest, irow[nz], q[nz])
    np.minimum.at(smallest, icol[nz], q[nz])
    smallest = smallest[np.isfinite(smallest)]
    if len(smallest) == 0:
        return [0.1, 1.0]
    hot = math.log(2) / (2 * float(total.max()))
    gap = float(smallest.min())
    cold = math.log(int(np.sum(smallest == gap)) / 0.01) / (2 * gap)
    return [hot, cold]


def _schedule(ldata, irow, icol, qdata, beta_range, num_sweeps, per_beta, kind, custom,
              reverse_beta):
    """``(betas, reverse_betas, beta_range)``: the absolute inverse temperature of every
    sweep for random starts and for given start states."""
    if kind not in SCHEDULE_TYPES:
        raise ValueError(f"'beta_schedule_type' must be one of {SCHEDULE_TYPES}; got {kind!r}")
    if kind == "custom":
        if custom is None:
            raise ValueError("'beta_schedule' must be given for beta_schedule_type='custom'")
        try:
            custom = np.asarray(custom, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"'beta_schedule' must be a sequence of numbers; got {custom!r}")
        if not np.all(np.isfinite(custom)) or np.any(custom < 0):
            raise ValueError(f"'beta_schedule' must hold finite values >= 0; got {custom!r}")
        if num_sweeps is not None and num_sweeps != len(custom) * per_beta:
            raise ValueError(f"'num_sweeps' must be None or len(beta_schedule) * "
                             f"num_sweeps_per_beta = {len(custom) * per_beta}; got {num_sweeps!r}")
        if reverse_beta is not None:
            raise ValueError("'reverse_beta' needs a 'linear' or 'geometric' schedule; got "
                             "beta_schedule_type='custom'")
        betas = np.repeat(custom, per_beta)
        ends = [float(custom[0]), float(custom[-1])] if len(custom) else [0.0, 0.0]
        if beta_range is not None and list(_check_range(beta_range, "custom")) != ends:
            raise ValueError(f"'beta_range' must be None or the ends of 'beta_schedule' "
                             f"{ends}; got {beta_range!r}")
        return betas, betas, ends
    if custom is not None:
        raise ValueError(f"'beta_schedule' must be None for beta_schedule_type={kind!r}")
    if num_sweeps is None:
        num_sweeps = 1000
    steps, rem = divmod(num_sweeps, per_beta)
    if rem:
        raise ValueError(f"'num_sweeps' must be divisible by 'num_sweeps_per_beta' "
                         f"({per_beta}); got {num_sweeps!r}")
    if beta_range is None:
        beta_range = _default_range(ldata, irow, icol, qdata)
    hot, cold = _check_range(beta_range, kind)
    if reverse_beta is None:
        start = hot
    else:
        if isinstance(reverse_beta, (bool, np.bool_)) or not isinstance(reverse_beta, Real):
            raise TypeError(f"'reverse_beta' should be a number or None; got {reverse_beta!r}")
        start = float(reverse_beta)
        if not min(hot, cold) <= start <= max(hot, cold):
            raise ValueError(f"'reverse_beta' must lie inside beta_range {[hot, cold]}; "
                             f"got {reverse_beta!r}")
    space = np.geomspace if kind == "geometric" else np.linspace

    def betas_from(first):
        if steps == 1:  # one inverse temperature: the target, as neal does
            return np.repeat([cold], per_beta)
        return np.repeat(space(first, cold, steps), per_beta)

    return betas_from(hot), betas_from(start), [hot, cold]


def _check_range(beta_range, kind) -> tuple[float, float]:
    try:
        values = np.asarray(beta_range, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"'beta_range' should be a pair of numbers; got {beta_range!r}")
    if values.shape != (2,) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"'beta_range' should be a 2-tuple of finite numbers >= 0; "
                         f"got {beta_range!r}")
    if kind == "geometric" and np.any(values == 0):
        raise ValueError(f"'beta_range' must be > 0 for beta_schedule_type='geometric'; "
                         f"got {beta_range!r}")
    return float(values[0]), float(values[1])


def _check_int(name, value, least):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"'{name}' should be an integer; got {value!r}")
    if value < least:
        raise ValueError(f"'{name}' should be an integer >= {least}; got {value!r}")


def _check_seed(seed) -> int:
    if seed is None:
        return int(np.random.randint(SEED_LIMIT))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral):
        raise TypeError(f"'seed' should be None or an integer in [0, 2**31); got {seed!r}")
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"'seed' should be an integer in [0, 2**31); got {seed!r}")
    return int(seed)
