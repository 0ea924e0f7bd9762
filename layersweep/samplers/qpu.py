"""A D-Wave QPU as a block sampler: embedded, tiled, reverse-annealed, costed
(docs/how-it-works.md §3, §5).

:class:`QPUBlockSampler` wraps any *structured* dimod sampler that behaves like a QPU: a
``dwave.system.DWaveSampler`` (:func:`connect`) or the offline :mod:`.mock`. For each block shape
K(a, b) it takes the cached embedding and its disjoint copies ("tiles") from
:func:`layersweep.embedding.tile_embeddings` for the solver's *actual* working graph, re-verifies
them with minorminer, and from then on:

* **Problems and calls.** A reverse anneal starts every read of a problem from one
  ``initial_state``, so the reads of one block problem that share a start state are one QPU
  problem: with reference-state sampling (QP) an image's ``m`` reads cycle over the 9 wrong
  classes, i.e. 9 problems of ``ceil(m/9)`` or ``floor(m/9)`` reads. Random starts (forward
  anneals) give one problem of ``m`` reads per image. Problems are sorted by their reads
  (most first) and packed ``tiles`` to a call, one per tile (:func:`pack_problems`); a call's
  ``num_reads`` is the largest its problems need, and surplus reads are dropped, so a minibatch
  of B images costs about ``B * 9 / tiles`` calls with reference states, ``B / tiles`` without.
* **Embedding** (:class:`TiledEmbeddingComposite`): Ocean's ``EmbeddedStructure.embed_bqm``
  per tile (chain strength: Ocean's ``uniform_torque_compensation`` unless given), each tile
  scaled into the solver's ``h_range``/``j_range`` (``auto_scale``; without it, a problem out of
  range is refused before it is sent), a reference state spread over its chains (every qubit of
  a spin's chain starts at the spin's value), and Ocean's ``unembed_sampleset`` with the chosen
  chain-break method and the chain-break fraction of every sample.
* **Schedules**: reverse anneals ``[[0, 1], [ramp, s_p], [ramp + pause, s_p], [2 ramp + pause,
  1]]`` with ``reinitialize_state=True``; forward anneals ``annealing_time``. Both are checked
  against the solver's properties (``annealing_time_range``, ``max_anneal_schedule_points``,
  slope) when the sampler is built, before anything is sent.
* **Cost**: every call's ``qpu_access_time`` is read from ``sampleset.info['timing']``, or, when
  the solver reports none, from :func:`access_time`, D-Wave's published timing model.
  Figures accumulate until :meth:`QPUBlockSampler.take_tally`; the trainer adds them to its
  history (``qpu_calls``, ``qpu_problems``, ``qpu_reads``, ``qpu_access_seconds``,
  ``qpu_chain_break_fraction``).
* **Failures**: transient cloud errors (timeouts, upload errors, rate limits, lost connections)
  are retried with exponential backoff; anything else raises :class:`SamplerError` naming the
  fix. :func:`layersweep.cost.estimate_run` prices a planned run offline (``layersweep train
  --dry-run``) by driving the training step against :class:`~.counting.CountingSampler`, which
  groups reads into QPU problems with the same :func:`qpu_jobs`.

The timing model is :mod:`.timing`, the connection to the cloud :mod:`.cloud`, the tiled
composite :mod:`.composite`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import dimod
import numpy as np

from ..blocks import BlockProblem, BlockSamples, descend
from ..exceptions import SamplerError
from .base import BlockSampler
from .cloud import _transient_errors, parse_chain_strength
from .composite import TiledEmbeddingComposite
from .timing import MAX_READS, PUBLISHED_TIMING, access_time, pack_problems, reverse_schedule

__all__ = ["QPUBlockSampler", "qpu_jobs"]


@dataclass
class _Block:
    """What the sampler keeps per block shape: the composite and the embedding's record."""

    composite: TiledEmbeddingComposite
    record: dict


class QPUBlockSampler(BlockSampler):
    """A QPU (or a mock of one) as a block sampler; see the module docstring.

    Parameters
    ----------
    qpu
        a structured dimod sampler with a QPU's properties (``DWaveSampler``,
        :class:`~layersweep.samplers.mock.MockQPUSampler`, ``MockDWaveSampler``).
    tiles
        problems per call at most (``None``: every disjoint copy that fits; 1: no tiling).
    s_pause
        where reverse anneals turn back (anneal fraction s in (0, 1)); smaller goes
        deeper, further from the reference state.
    pause, ramp
        reverse-anneal pause at ``s_pause`` and each ramp, in µs.
    annealing_time
        forward anneals (random starts), µs.
    chain_strength
        ``None`` (Ocean's uniform torque compensation, prefactor 1.414), a
        number (absolute, in the block's energy units), or a callable ``(bqm, embedding)``.
    chain_break_method
        how a broken chain is read: ``"majority_vote"`` (default),
        ``"weighted_random"`` or ``"minimize_energy"`` (Ocean's; ``"discard"`` is not
        offered: every read must survive).
    auto_scale
        scale each tile into the solver's ``h_range``/``j_range``; off: refuse a
        problem out of range.
    descend
        finish every unembedded read with the block's zero-temperature descent
        (:func:`~layersweep.blocks.descend`), as the CPU annealers do.
    cache
        the embedding cache (``None``: :meth:`EmbeddingCache.default`).
    retries, backoff
        transient cloud errors are retried ``retries`` times, waiting
        ``backoff * 2**k`` seconds (at most 60).
    name
        how the sampler names itself in ``properties`` (e.g. ``"mock:pegasus:16"``).
    """

    CHAIN_BREAK_METHODS = ("majority_vote", "weighted_random", "minimize_energy")

    def __init__(self, qpu, *, tiles: int | None = None, s_pause: float = 0.7,
                 pause: float = 10.0, ramp: float = 5.0, annealing_time: float | None = None,
                 chain_strength=None, chain_break_method: str = "majority_vote",
                 auto_scale: bool = True, descend: bool = True, cache=None, retries: int = 6,
                 backoff: float = 1.0, name: str | None = None):
        if not isinstance(qpu, dimod.Sampler) or not hasattr(qpu, "nodelist"):
            raise SamplerError(f"qpu must be a structured dimod sampler (DWaveSampler, "
                               f"MockDWaveSampler); got {type(qpu).__name__}")
        if tiles is not None and (not isinstance(tiles, (int, np.integer)) or tiles < 1):
            raise SamplerError(f"tiles must be a positive integer or None; got {tiles!r}")
        if chain_break_method not in self.CHAIN_BREAK_METHODS:
            raise SamplerError(f"chain_break_method must be one of {self.CHAIN_BREAK_METHODS};"
                               f" got {chain_break_method!r}")
        described = chain_strength if isinstance(chain_strength, (str, int, float)) else None
        chain_strength = parse_chain_strength(chain_strength)
        if not (chain_strength is None or callable(chain_strength) or
                (isinstance(chain_strength, (int, float)) and chain_strength > 0)):
            raise SamplerError(f"chain_strength must be None, a positive number or a callable;"
                               f" got {chain_strength!r}")
        if not isinstance(retries, int) or retries < 0 or backoff < 0:
            raise SamplerError(f"retries must be an int >= 0 and backoff >= 0; got {retries!r},"
                               f" {backoff!r}")
        self.qpu = qpu
        self.tiles = None if tiles is None else int(tiles)
        self.s_pause, self.pause, self.ramp = float(s_pause), float(pause), float(ramp)
        self.chain_strength = chain_strength
        self._chain_text = "utc" if chain_strength is None else \
            str(described) if described is not None else repr(chain_strength)
        self.chain_break_method = chain_break_method
        self.auto_scale = bool(auto_scale)
        self.finish = bool(descend)
        self.cache = cache
        self.retries, self.backoff = retries, float(backoff)
        self.name = name or str(self._props.get("chip_id") or type(qpu).__name__)
        self.timing_data = self._props.get("problem_timing_data") or PUBLISHED_TIMING
        self.schedule = reverse_schedule(self.s_pause, self.pause, self.ramp)
        self.annealing_time = float(annealing_time if annealing_time is not None else
                                    self._props.get("default_annealing_time", 20.0))
        self._check_solver()
        self._blocks: dict[tuple[int, int], _Block] = {}
        self._target = None
        self._tally: dict[str, float] = {}

    @property
    def _props(self) -> dict:
        return getattr(self.qpu, "properties", {}) or {}

    # ---- checks before anything is sent -----------------------------------------------
    def _check_solver(self) -> None:
        """Refuse, with the solver's own limits in the message, what it would reject."""
        from dwave.system import DWaveSampler

        params = self.qpu.parameters
        need = ("initial_state", "anneal_schedule", "reinitialize_state", "num_reads")
        lacking = [p for p in need if p not in params]
        if lacking:
            raise SamplerError(f"solver {self.name} does not accept {', '.join(lacking)}: it "
                               "cannot reverse-anneal from reference states")
        try:
            DWaveSampler.validate_anneal_schedule(self.qpu, self.schedule)
        except (ValueError, TypeError, RuntimeError) as exc:
            limits = {k: self._props.get(k) for k in ("annealing_time_range",
                                                     "max_anneal_schedule_points")}
            raise SamplerError(f"reverse-anneal schedule {self.schedule} (s_pause "
                               f"{self.s_pause}, pause {self.pause} µs, ramp {self.ramp} µs) is "
                               f"invalid on {self.name}: {exc}; its limits: {limits}") from None
        low, high = self._props.get("annealing_time_range", (0, math.inf))
        if not low <= self.annealing_time <= high:
            raise SamplerError(f"annealing_time {self.annealing_time} µs is outside {self.name}'s"
                               f" annealing_time_range [{low}, {high}]")

    # ---- embeddings ----------------------------------------------------------------------
    def _block(self, a: int, b: int) -> _Block:
        """The composite of block K(a, b): cached tiles, re-verified on the working graph."""
        if (a, b) in self._blocks:
            return self._blocks[(a, b)]
        from ..embedding import EmbeddingCache, tile_embeddings
        from ..embedding.find import _verify_copies
        from ..topology import target_from_sampler

        if self._target is None:
            self._target = target_from_sampler(self.qpu)
        cache = self.cache if self.cache is not None else EmbeddingCache.default()
        copies = tile_embeddings(a, b, self._target, self.tiles, cache=cache)
        _verify_copies(copies, a, b, self._target)  # minorminer, on the solver's working graph
        composite = TiledEmbeddingComposite(self.qpu, copies)
        lengths = [len(c) for c in copies[0].values()]
        record = {"topology": self._target.name, "fingerprint": self._target.fingerprint,
                  "cache_key": cache.filename(a, b, self._target), "copies": len(copies),
                  "qubits": sum(lengths), "max_chain": max(lengths)}
        self._blocks[(a, b)] = _Block(composite, record)
        return self._blocks[(a, b)]

    @property
    def properties(self) -> dict:
        return {"name": self.name, "solver": self.name, "tiles": self.tiles,
                "s_pause": self.s_pause, "pause": self.pause, "ramp": self.ramp,
                "anneal_schedule": self.schedule, "annealing_time": self.annealing_time,
                "chain_strength": self._chain_text, "chain_break_method": self.chain_break_method,
                "auto_scale": self.auto_scale, "descend": self.finish,
                "embeddings": {f"K{a}x{b}": dict(blk.record)
                               for (a, b), blk in self._blocks.items()}}

    # ---- sampling --------------------------------------------------------------------------
    def _sample(self, problem: BlockProblem, reads: int, initial, seed) -> BlockSamples:
        rng = np.random.default_rng(seed)
        a, b = problem.shape
        P = problem.num_problems
        block = self._block(a, b)
        jobs = qpu_jobs(problem, reads, initial)
        max_reads = int(self._props.get("num_reads_range", (1, MAX_READS))[1])
        low = np.empty((P, reads, a), np.float32)
        high = np.empty((P, reads, b), np.float32)
        breaks, calls, qpu_reads, seconds, modelled = [], 0, 0, 0.0, 0
        for chunk, num_reads in pack_problems([len(j[2]) for j in jobs],
                                              block.composite.num_embeddings):
            if num_reads > max_reads:
                raise SamplerError(f"{num_reads} reads per problem exceed {self.name}'s "
                                   f"num_reads_range maximum {max_reads}")
            batch = [jobs[i] for i in chunk]
            results, info = self._call(block.composite, problem, batch, num_reads, rng)
            for (p, _, idx), answer in zip(batch, results):
                columns = np.argsort(np.fromiter(answer.variables, dtype=np.int64))
                table = answer.record.sample[:, columns]  # raw answers: in read order
                rows = table[np.resize(np.arange(len(table)), len(idx))]
                low[p, idx], high[p, idx] = problem.spins_from_dimod(rows)
            breaks.append(float(np.mean([answer.record.chain_break_fraction.mean()
                                         for answer in results])))
            used = sum(len(c) for emb in block.composite.embeddings[:len(batch)]
                       for c in emb.values())
            timing = info.get("timing") or {}
            if "qpu_access_time" not in timing:
                modelled += 1
                anneal = self.schedule[-1][0] if initial is not None else self.annealing_time
                timing = access_time(used, num_reads, anneal, initial is not None,
                                     self.timing_data)
            calls += 1
            qpu_reads += num_reads
            seconds += timing["qpu_access_time"] * 1e-6
        if self.finish:
            low, high = descend(problem, low, high)
        figures = {"qpu_calls": calls, "qpu_problems": len(jobs), "qpu_reads": qpu_reads,
                   "qpu_access_seconds": seconds, "qpu_modelled_calls": modelled,
                   "qpu_chain_breaks": sum(breaks)}
        for key, value in figures.items():
            self._tally[key] = self._tally.get(key, 0) + value
        info = dict(figures, reads=reads, problems=P, chain_break_fractions=breaks,
                    chain_break_fraction=float(np.mean(breaks)) if breaks else 0.0)
        return BlockSamples(low, high, problem.energy(low, high), info)

    def _call(self, composite, problem, batch, num_reads, rng):
        """One QPU call, retried with backoff on transient cloud errors."""
        kwargs = {"num_reads": num_reads, "chain_strength": self.chain_strength,
                  "chain_break_method": _chain_break_function(self.chain_break_method),
                  "auto_scale": self.auto_scale}
        params = self.qpu.parameters
        if "answer_mode" in params:
            kwargs["answer_mode"] = "raw"
        if "seed" in params:
            kwargs["seed"] = int(rng.integers(2 ** 31))
        states = None
        if batch[0][1] is not None:
            kwargs.update(anneal_schedule=self.schedule, reinitialize_state=True)
            states = [dict(enumerate(state.tolist())) for _, state, _ in batch]
        else:
            kwargs["annealing_time"] = self.annealing_time
        bqms = [problem.to_bqm(p) for p, _, _ in batch]
        transient = _transient_errors()
        for attempt in range(self.retries + 1):
            try:
                return composite.sample_multiple(bqms, initial_states=states, **kwargs)
            except SamplerError:
                raise
            except transient as exc:
                if attempt == self.retries:
                    raise SamplerError(
                        f"{self.name} failed {self.retries + 1} times in a row ({exc!r}); "
                        "training stopped at the last checkpoint: resume it with "
                        "`layersweep train --resume RUN.h5` once the QPU is reachable") from exc
                time.sleep(min(60.0, self.backoff * 2 ** attempt))
            except Exception as exc:  # the solver rejected the problem: retrying cannot help
                raise SamplerError(f"{self.name} rejected a problem ({type(exc).__name__}: "
                                   f"{exc}); check --s-pause, --chain-strength and the "
                                   "solver's properties") from exc

    # ---- figures for the history -----------------------------------------------------------
    def take_tally(self) -> dict:
        """Additive QPU figures since the last call (calls, problems, reads, access seconds,
        modelled calls, chain breaks), then reset."""
        tally, self._tally = self._tally, {}
        return tally

    @staticmethod
    def summarize_tally(totals: dict) -> dict:
        """History figures from an epoch's totals: the totals, with the summed per-call
        chain-break fractions turned into their mean ``qpu_chain_break_fraction``."""
        row = {k: v for k, v in totals.items() if k != "qpu_chain_breaks"}
        calls = totals.get("qpu_calls")
        if calls:
            row["qpu_chain_break_fraction"] = totals.get("qpu_chain_breaks", 0) / calls
        return row


def qpu_jobs(problem: BlockProblem, reads: int, initial) -> list:
    """The QPU problems of one sampler call, ``[(block problem, start state or None, read
    indices)]``: with start states (reverse anneals), the reads of a block problem that share
    one start state are one QPU problem; with random starts, all reads of a problem are one."""
    if initial is None:
        return [(p, None, np.arange(reads)) for p in range(problem.num_problems)]
    rows = problem.spins_to_dimod(initial[0], initial[1])
    jobs = []
    for p in range(problem.num_problems):
        states, inverse = np.unique(rows[p], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        jobs.extend((p, state, np.flatnonzero(inverse == k)) for k, state in enumerate(states))
    return jobs


def _chain_break_function(name: str):
    from dwave.embedding import chain_breaks

    return getattr(chain_breaks, name)
