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
  fix. :func:`estimate_run` prices a planned run offline (``layersweep train --dry-run``).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import dimod
import numpy as np

from ..blocks import BlockProblem, BlockSamples, descend
from ..exceptions import EmbeddingError, SamplerError
from .base import BlockSampler

__all__ = ["QPUBlockSampler", "TiledEmbeddingComposite", "connect", "parse_solver",
           "reverse_schedule", "access_time", "readout_time", "pack_problems", "estimate_run",
           "format_estimate", "parse_chain_strength", "dry_run_topology", "PUBLISHED_TIMING",
           "DEFAULT_TOPOLOGY"]

#: D-Wave's published QPU timing model for an Advantage system (``problem_timing_data`` of
#: Advantage_system4.1, August 2022, as dwave-cloud-client ships it for its timing estimator;
#: microseconds). A real solver's own ``problem_timing_data`` property replaces it.
PUBLISHED_TIMING = {
    "version": "1.0.0",
    "typical_programming_time": 14072.88,
    "default_programming_thermalization": 1000.0,
    "reverse_annealing_with_reinit_prog_time_delta": 0.0,
    "reverse_annealing_without_reinit_prog_time_delta": 5.55,
    "default_annealing_time": 20.0,
    "readout_time_model": "pwl_log_log",
    "readout_time_model_parameters": [
        0.0, 0.7699665876947938, 1.7242758696010096, 2.711975459489206, 3.1639057672764026,
        3.750276915153992, 1.539131714800995, 1.8726623164229292, 2.125631787097315,
        2.332672340068556, 2.371606651233025, 2.3716219271760215],
    "qpu_delay_time_per_sample": 20.54,
    "reverse_annealing_with_reinit_delay_time_delta": -4.5,
    "reverse_annealing_without_reinit_delay_time_delta": -1.5,
    "default_readout_thermalization": 0.0,
}
#: the lattice priced by ``--dry-run`` when no solver topology is named
DEFAULT_TOPOLOGY = {"pegasus": "pegasus:16", "zephyr": "zephyr:12,4"}
#: reads of a problem at most (Advantage's ``num_reads_range``), used when a solver has none
MAX_READS = 10000


# --------------------------------------------------------------------------------------------
# Schedules and the timing model


def reverse_schedule(s_pause: float, pause: float = 10.0, ramp: float = 5.0) -> list:
    """A reverse anneal: from s = 1 down to ``s_pause`` in ``ramp`` µs, a pause of ``pause``
    µs, back to s = 1 in ``ramp`` µs."""
    if not 0.0 < float(s_pause) < 1.0:
        raise SamplerError(f"s_pause must lie strictly between 0 and 1; got {s_pause!r}")
    if not (float(ramp) > 0 and float(pause) >= 0):
        raise SamplerError(f"ramp must be > 0 and pause >= 0 µs; got ramp={ramp!r}, "
                           f"pause={pause!r}")
    s, r, p = float(s_pause), float(ramp), float(pause)
    points = [[0.0, 1.0], [r, s]] + ([[r + p, s]] if p > 0 else []) + [[2 * r + p, 1.0]]
    return points


def readout_time(num_qubits: int, timing: dict | None = None) -> float:
    """Readout time per read (µs) of a problem on ``num_qubits`` qubits: the published
    piecewise-linear model (in log-log or linear coordinates) of ``timing``."""
    timing = timing or PUBLISHED_TIMING
    params = timing["readout_time_model_parameters"]
    q, t = params[:len(params) // 2], params[len(params) // 2:]
    if timing["readout_time_model"] == "pwl_log_log":
        return float(10 ** np.interp(np.log10(max(num_qubits, 1)), q, t))
    return float(np.interp(num_qubits, q, t))


def access_time(num_qubits: int, num_reads: int, anneal_time: float, reverse: bool,
                timing: dict | None = None) -> dict:
    """D-Wave's QPU access-time model for one call (µs), with its parts.

    ``qpu_access_time = programming + num_reads * (anneal + readout + delay)``, where
    programming is the typical programming time plus the default programming thermalization,
    readout follows the solver's readout-time model for ``num_qubits`` active qubits, and a
    reverse anneal with ``reinitialize_state=True`` adds its (published) deltas.
    """
    timing = timing or PUBLISHED_TIMING
    programming = timing["typical_programming_time"] + \
        timing["default_programming_thermalization"]
    delay = timing["qpu_delay_time_per_sample"]
    if reverse:
        programming += timing["reverse_annealing_with_reinit_prog_time_delta"]
        delay += timing["reverse_annealing_with_reinit_delay_time_delta"]
    readout = readout_time(num_qubits, timing)
    per_read = anneal_time + readout + delay + timing.get("default_readout_thermalization", 0)
    return {"qpu_access_time": programming + num_reads * per_read,
            "qpu_programming_time": programming, "qpu_sampling_time": num_reads * per_read,
            "qpu_anneal_time_per_sample": anneal_time, "qpu_readout_time_per_sample": readout,
            "qpu_delay_time_per_sample": delay}


def pack_problems(reads, tiles: int) -> list[tuple[np.ndarray, int]]:
    """QPU calls for problems needing ``reads[i]`` reads each on ``tiles`` tiles.

    Problems are sorted by reads, most first (stable), and taken ``tiles`` at a time; each call
    reads as often as its most demanding problem. Returns ``[(problem indices, num_reads)]``.
    """
    reads = np.asarray(reads, dtype=np.int64)
    order = np.argsort(-reads, kind="stable")
    return [(order[i:i + tiles], int(reads[order[i]])) for i in range(0, len(order), tiles)]


# --------------------------------------------------------------------------------------------
# Connecting to a solver


def parse_solver(text):
    """A ``--solver`` value as ``DWaveSampler(solver=...)`` takes it.

    ``None``/``""``: the Ocean configuration's choice; ``"pegasus"``/``"zephyr"``: any solver of
    that topology; ``'{"topology__type": "zephyr"}'``: a JSON feature filter;
    ``"topology__type=zephyr,num_active_qubits__gte=5000"``: the same as ``key=value`` pairs;
    anything else: a solver name such as ``"Advantage_system4.1"``.
    """
    if text is None or isinstance(text, dict):
        return text or None
    text = str(text).strip()
    if not text:
        return None
    if text in DEFAULT_TOPOLOGY:
        return {"topology__type": text}
    if text.startswith("{"):
        try:
            return dict(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise SamplerError(f"solver filter {text!r} is not a JSON object ({exc})") from None
    if "=" in text:
        pairs = [part.split("=", 1) for part in text.split(",") if part]
        if any(len(p) != 2 for p in pairs):
            raise SamplerError(f"solver filter {text!r}: use key=value pairs separated by commas")
        return {k.strip(): _scalar(v.strip()) for k, v in pairs}
    return text


def _scalar(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def connect(solver=None, **config):
    """A ``DWaveSampler`` for ``solver`` (see :func:`parse_solver`), or :class:`SamplerError`
    that says what to do. The token, endpoint and default solver come from dwave-cloud-client's
    usual sources (``DWAVE_API_TOKEN`` and friends, ``dwave config create``), never from us."""
    from dwave.cloud import exceptions as cloud
    from dwave.cloud.config.exceptions import ConfigFileError
    from dwave.system import DWaveSampler
    import requests

    wanted = parse_solver(solver)
    where = f" matching {solver!r}" if wanted else ""
    try:
        return DWaveSampler(solver=wanted, **config) if wanted else DWaveSampler(**config)
    except ConfigFileError as exc:
        raise SamplerError(f"the D-Wave configuration file cannot be read ({exc}): fix it, or "
                           "recreate it with `dwave config create`") from None
    except cloud.SolverAuthenticationError:
        raise SamplerError("the D-Wave API token was refused: check DWAVE_API_TOKEN or run "
                           "`dwave config create` with a valid token from your Leap "
                           "dashboard") from None
    except cloud.SolverNotFoundError:
        raise SamplerError(f"no D-Wave QPU solver{where} is available to your account: list "
                           "them with `dwave solvers`, then pick one with --solver NAME or a "
                           "filter such as --solver zephyr") from None
    except ValueError as exc:
        if "token" in str(exc).lower():
            raise SamplerError("no D-Wave API token found: set DWAVE_API_TOKEN, or run "
                               "`dwave config create` (or `dwave auth login`); for an offline "
                               "run use --sampler mock:pegasus:16") from None
        raise SamplerError(f"cannot connect to a D-Wave solver{where}: {exc}") from None
    except (requests.RequestException, OSError) as exc:
        raise SamplerError(f"cannot reach the D-Wave cloud ({type(exc).__name__}: {exc}): check "
                           "the network, a proxy, or DWAVE_API_ENDPOINT; for an offline run "
                           "use --sampler mock:pegasus:16") from None


def parse_chain_strength(text):
    """A ``--chain-strength`` value: ``None``/``"utc"`` (Ocean's uniform torque compensation,
    prefactor 1.414), ``"utc:P"`` (prefactor P), or a number (absolute)."""
    if text is None or isinstance(text, (int, float)) or callable(text):
        return text
    name, _, prefactor = str(text).strip().lower().partition(":")
    if name == "utc":
        if not prefactor:
            return None
        from functools import partial

        from dwave.embedding.chain_strength import uniform_torque_compensation

        try:
            return partial(uniform_torque_compensation, prefactor=float(prefactor))
        except ValueError:
            pass
    else:
        try:
            return float(text)
        except ValueError:
            pass
    raise SamplerError(f"chain strength {text!r} not understood: use 'utc', 'utc:PREFACTOR' "
                       "(e.g. utc:1.0) or a positive number")


def dry_run_topology(spec: str, solver=None) -> str:
    """The lattice a dry run prices: ``mock:<topology>``'s, a ``--solver`` topology filter's
    (``zephyr`` -> zephyr:12,4), else pegasus:16 (Advantage)."""
    kind, _, rest = str(spec).partition(":")
    if kind == "mock" and rest:
        return rest
    wanted = parse_solver(solver or (rest if kind == "dwave" else None))
    family = wanted.get("topology__type") if isinstance(wanted, dict) else None
    if family is None and isinstance(wanted, str):
        family = "zephyr" if wanted.lower().startswith("advantage2") else "pegasus"
    return DEFAULT_TOPOLOGY.get(family, DEFAULT_TOPOLOGY["pegasus"])


def _transient_errors() -> tuple:
    """Cloud errors worth retrying: timeouts, upload failures, rate limits, server errors."""
    import requests
    from dwave.cloud import exceptions as cloud
    from dwave.cloud.api import exceptions as api

    return (cloud.Timeout, cloud.PollingTimeout, cloud.ProblemUploadError,
            cloud.SolverOfflineError, api.RequestTimeout, api.InternalServerError,
            api.ResourceLimitsExceededError, requests.ConnectionError, requests.Timeout,
            ConnectionError, TimeoutError)


# --------------------------------------------------------------------------------------------
# Several problems per call


class TiledEmbeddingComposite(dimod.ComposedSampler):
    """One problem per disjoint embedding ("tile") of a structured sampler, in one call.

    The role of dwave-system's ``ParallelEmbeddingComposite`` (whose ``sample_multiple`` this
    mirrors), plus what training needs from it: a chain-break method and each sample's
    chain-break fraction, a call with fewer problems than tiles, a check of the solver's ranges
    when ``auto_scale`` is off, and each tile's ``EmbeddedStructure`` built once (rebuilding it
    per call costs ~50 ms for K(120, 40) on Pegasus). With one tile it is
    ``FixedEmbeddingComposite`` (tests check both equivalences).

    Args:
        child: a structured dimod sampler (``DWaveSampler``, ``MockDWaveSampler``, ...).
        embeddings: disjoint ``{variable: (qubit, ...)}`` dicts over the same variables.
    """

    def __init__(self, child, embeddings):
        from dwave.embedding import EmbeddedStructure

        if not embeddings:
            raise EmbeddingError("TiledEmbeddingComposite needs at least one embedding")
        qubits = [q for emb in embeddings for chain in emb.values() for q in chain]
        if len(qubits) != len(set(qubits)):
            raise EmbeddingError("the embeddings share qubits: tiles must be disjoint")
        nodes, edges, _ = dimod.child_structure_dfs(child)
        missing = set(qubits).difference(nodes)
        if missing:
            raise EmbeddingError(f"{len(missing)} embedded qubits (e.g. {sorted(missing)[:5]}) "
                                 "are not in the solver's working graph")
        self._children = [child]
        self.embeddings = [dict(e) for e in embeddings]
        self._structures = [EmbeddedStructure(edges, emb) for emb in self.embeddings]
        props = _structured_properties(child)
        self.h_range = tuple(props.get("h_range", (-np.inf, np.inf)))
        self.j_range = tuple(props.get("j_range", (-np.inf, np.inf)))

    @property
    def children(self):
        return self._children

    @property
    def parameters(self):
        return dict(self.child.parameters, chain_strength=[], chain_break_method=[],
                    initial_states=[])

    @property
    def properties(self):
        return {"child_properties": self.child.properties, "embeddings": self.embeddings}

    @property
    def num_embeddings(self) -> int:
        return len(self.embeddings)

    def sample(self, bqm, **parameters):
        """One problem on the first tile (``initial_state`` in the problem's variables)."""
        state = parameters.pop("initial_state", None)
        results, info = self.sample_multiple(
            [bqm], initial_states=None if state is None else [state], **parameters)
        results[0].info.update(info)
        return results[0]

    def embed(self, bqms, chain_strength=None, auto_scale=True) -> dimod.BinaryQuadraticModel:
        """The tiled BQM of ``bqms`` (problem i on tile i), each tile scaled into the solver's
        ranges when ``auto_scale``; otherwise :class:`SamplerError` if a tile is out of range."""
        if not 1 <= len(bqms) <= self.num_embeddings:
            raise SamplerError(f"{len(bqms)} problems for {self.num_embeddings} tiles")
        strengths = chain_strength if isinstance(chain_strength, (list, tuple)) \
            else [chain_strength] * len(bqms)
        tiled = dimod.BinaryQuadraticModel.empty(dimod.SPIN)
        for structure, bqm, strength in zip(self._structures, bqms, strengths):
            embedded = _embed_one(structure, bqm, strength)
            if auto_scale:
                embedded.normalize(bias_range=self.h_range, quadratic_range=self.j_range)
            else:
                self._check_ranges(embedded)
            tiled.update(embedded)
        return tiled

    def _check_ranges(self, bqm):
        h, (_, _, j), _ = bqm.to_numpy_vectors()
        for name, values, (low, high) in (("h_range", h, self.h_range),
                                          ("j_range", j, self.j_range)):
            if len(values) and (values.min() < low or values.max() > high):
                raise SamplerError(
                    f"an embedded problem has biases in [{values.min():.3g}, {values.max():.3g}]"
                    f" outside the solver's {name} [{low}, {high}] (chain strength included): "
                    "turn auto_scale on, or lower the chain strength")

    def sample_multiple(self, bqms, initial_states=None, chain_strength=None,
                        chain_break_method=None, auto_scale=True, **parameters):
        """Sample ``bqms`` (at most one per tile) in one call to the child.

        ``initial_states``: one ``{variable: ±1}`` per problem (reverse annealing), spread over
        its chains. Returns ``([SampleSet per problem], child's info)``; every unembedded
        sample carries its ``chain_break_fraction``.
        """
        from dwave.embedding import unembed_sampleset

        tiled = self.embed(bqms, chain_strength, auto_scale)
        if initial_states is not None:
            active = tiled.variables
            parameters["initial_state"] = {
                q: int(state[v]) for emb, state in zip(self.embeddings, initial_states)
                for v, chain in emb.items() for q in chain if q in active}
        if "auto_scale" in self.child.parameters:
            parameters["auto_scale"] = auto_scale
        response = self.child.sample(tiled, **parameters)
        response.resolve()
        # plain dicts: Ocean's shortcut for chainless embeddings relabels the whole tiled
        # sampleset and fails when another tile's qubit has a variable's label
        results = [unembed_sampleset(response, embedding, bqm,
                                     chain_break_method=chain_break_method,
                                     chain_break_fraction=True)
                   for embedding, bqm in zip(self.embeddings, bqms)]
        return results, dict(response.info)


def _embed_one(structure, bqm, strength) -> dimod.BinaryQuadraticModel:
    """``structure.embed_bqm``, except for an embedding without chains, which Ocean relabels
    in place and which fails when a qubit's label is also a variable's (dwave-system 1.36)."""
    if structure.max_chain_length > 1:
        return structure.embed_bqm(bqm, chain_strength=strength, smear_vartype=dimod.SPIN)
    order = list(bqm.variables)
    linear, quadratic, offset = bqm.to_numpy_vectors(variable_order=order)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, quadratic, offset, bqm.vartype, variable_order=[structure[v][0] for v in order])


def _structured_properties(sampler) -> dict:
    """The properties of the structured sampler at the bottom of a stack of composites (where
    ``h_range`` and ``j_range`` live), found depth-first like ``dimod.child_structure_dfs``."""
    if "h_range" in (getattr(sampler, "properties", None) or {}):
        return sampler.properties
    for child in getattr(sampler, "children", ()):
        found = _structured_properties(child)
        if found:
            return found
    return {}


# --------------------------------------------------------------------------------------------
# The block sampler


@dataclass
class _Block:
    """What the sampler keeps per block shape: the composite and the embedding's record."""

    composite: TiledEmbeddingComposite
    record: dict


class QPUBlockSampler(BlockSampler):
    """A QPU (or a mock of one) as a block sampler; see the module docstring.

    Args:
        qpu: a structured dimod sampler with a QPU's properties (``DWaveSampler``,
            :class:`~layersweep.samplers.mock.MockQPUSampler`, ``MockDWaveSampler``).
        tiles: problems per call at most (``None``: every disjoint copy that fits; 1: no tiling).
        s_pause: where reverse anneals turn back (anneal fraction s in (0, 1)); smaller goes
            deeper, further from the reference state.
        pause, ramp: reverse-anneal pause at ``s_pause`` and each ramp, in µs.
        annealing_time: forward anneals (random starts), µs.
        chain_strength: ``None`` (Ocean's uniform torque compensation, prefactor 1.414), a
            number (absolute, in the block's energy units), or a callable ``(bqm, embedding)``.
        chain_break_method: how a broken chain is read: ``"majority_vote"`` (default),
            ``"weighted_random"`` or ``"minimize_energy"`` (Ocean's; ``"discard"`` is not
            offered: every read must survive).
        auto_scale: scale each tile into the solver's ``h_range``/``j_range``; off: refuse a
            problem out of range.
        descend: finish every unembedded read with the block's zero-temperature descent
            (:func:`~layersweep.blocks.descend`), as the CPU annealers do.
        cache: the embedding cache (``None``: :meth:`EmbeddingCache.default`).
        retries, backoff: transient cloud errors are retried ``retries`` times, waiting
            ``backoff * 2**k`` seconds (at most 60).
        name: how the sampler names itself in ``properties`` (e.g. ``"mock:pegasus:16"``).
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
        from ..embedding import EmbeddingCache, _verify_copies, tile_embeddings
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
        jobs = self._jobs(problem, reads, initial)
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

    @staticmethod
    def _jobs(problem: BlockProblem, reads: int, initial) -> list:
        """QPU problems ``[(block problem, start state or None, read indices)]``: with start
        states, the reads of a block problem that share one; else all reads of a problem."""
        if initial is None:
            return [(p, None, np.arange(reads)) for p in range(problem.num_problems)]
        rows = problem.spins_to_dimod(initial[0], initial[1])
        jobs = []
        for p in range(problem.num_problems):
            states, inverse = np.unique(rows[p], axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            jobs.extend((p, state, np.flatnonzero(inverse == k)) for k, state in enumerate(states))
        return jobs

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


def _chain_break_function(name: str):
    from dwave.embedding import chain_breaks

    return getattr(chain_breaks, name)


# --------------------------------------------------------------------------------------------
# Dry run: the cost of a planned run


def _reference_counts(reads: int, classes: int) -> np.ndarray:
    """Reads per distinct reference state of one image: ``reads`` cycled over the wrong
    classes (as :func:`layersweep.sweep.reference_classes` does)."""
    return np.bincount(np.resize(np.arange(classes - 1), reads), minlength=min(reads, classes - 1))


def _sample_calls(layers, batch: int, reads: int, start: str, cycles: int, frozen_above: str,
                  classes: int, reverse: bool) -> list[list[int]]:
    """The sampler calls of one training step on ``batch`` images, each as the reads of its
    QPU problems. ``reverse=False`` prices every anneal as a forward anneal from random starts
    (m reads per image)."""
    L = len(layers) - 1
    calls = []
    one = [1] * batch
    if L > 2:
        calls += [one] * (L - 1)  # forward sweep: one read per image, warm start
    per_image = _reference_counts(reads, classes).tolist() if reverse and start == "reference" \
        else [reads]
    for l in range(L - 1, 0, -1):
        if l + 1 < L:
            calls.append(one)  # the nudged state of a lower block
        if l + 1 < L and frozen_above == "reference":
            free = [1] * (batch * reads)  # a problem per read
        else:
            free = per_image * batch
        calls.append(free)
        calls += [[1] * (batch * reads)] * (cycles - 1)  # each read restarts from its best
    return calls


def estimate_run(layers, images: int, epochs: int, reads: int, batch_size: int = 1,
                 start: str = "reference", cycles: int = 1, frozen_above: str = "reference",
                 classes: int = 10, topology: str = "pegasus:16", tiles: int | None = None,
                 s_pause: float = 0.7, pause: float = 10.0, ramp: float = 5.0,
                 annealing_time: float = 20.0, timing: dict | None = None, cache=None) -> dict:
    """QPU cost of a planned training run, priced offline with :func:`access_time`.

    Blocks are placed on the defect-free ``topology`` from the embedding cache; a real
    solver's working graph may hold a copy fewer. Returns ``{"plan": ..., "strategies":
    [...]}`` with, per strategy (reverse anneals from reference states or forward anneals
    from random starts, tiled or one problem per call), the calls, problems, reads and
    access seconds per epoch and for the run. Evaluation runs on the CPU and costs nothing.
    """
    from ..embedding import blocks_of, tile_embeddings
    from ..topology import parse_topology

    target = parse_topology(topology)
    shapes = blocks_of(layers)
    placed = {}
    for a, b in dict.fromkeys(shapes):
        copies = tile_embeddings(a, b, target, tiles, cache=cache)
        placed[(a, b)] = (len(copies), sum(len(c) for c in copies[0].values()))
    copies = min(n for n, _ in placed.values())
    qubits = max(q for _, q in placed.values())
    steps = [min(batch_size, images - i) for i in range(0, images, batch_size)]
    strategies = []
    for reverse in ((True, False) if start == "reference" else (False,)):
        for tiled in dict.fromkeys((copies, 1)):
            calls = problems = qpu_reads = 0
            micro = 0.0
            for size in steps:
                for job_reads in _sample_calls(layers, size, reads, start, cycles, frozen_above,
                                               classes, reverse):
                    problems += len(job_reads)
                    for chunk, num_reads in pack_problems(job_reads, tiled):
                        anneal = (2 * ramp + pause) if reverse else annealing_time
                        micro += access_time(qubits * len(chunk), num_reads, anneal, reverse,
                                             timing)["qpu_access_time"]
                        calls += 1
                        qpu_reads += num_reads
            strategies.append({
                "strategy": ("reverse anneals from reference states" if reverse
                             else "forward anneals from random starts"),
                "tiles": tiled, "calls_per_epoch": calls, "problems_per_epoch": problems,
                "reads_per_epoch": qpu_reads, "seconds_per_epoch": micro * 1e-6,
                "calls": calls * epochs, "seconds": micro * 1e-6 * epochs})
    plan = {"layers": list(layers), "images": images, "epochs": epochs, "reads": reads,
            "batch_size": batch_size, "start": start, "topology": topology,
            "copies": copies, "qubits_per_copy": qubits,
            "timing_model": "D-Wave published problem_timing_data (Advantage_system4.1, 2022)"
            if timing is None else "the solver's problem_timing_data",
            "anneal_us": {"reverse": 2 * ramp + pause, "forward": annealing_time},
            "s_pause": s_pause}
    return {"plan": plan, "strategies": strategies}


def format_estimate(estimate: dict) -> str:
    """The dry-run report as text: the plan, then one line per strategy."""
    plan = estimate["plan"]
    lines = [
        f"QPU dry run (nothing is sent): {'-'.join(map(str, plan['layers']))}, "
        f"{plan['images']} images x {plan['epochs']} epochs, m = {plan['reads']}, "
        f"batch {plan['batch_size']}, starts: {plan['start']}",
        f"  topology {plan['topology']}: {plan['copies']} disjoint copies of the block "
        f"({plan['qubits_per_copy']} qubits each); timing: {plan['timing_model']}",
        "",
        f"  {'strategy':<40} {'tiles':>5} {'calls/epoch':>11} {'problems/epoch':>14} "
        f"{'reads/epoch':>11} {'QPU s/epoch':>11} {'calls':>9} {'QPU s':>9}",
    ]
    for s in estimate["strategies"]:
        lines.append(f"  {s['strategy']:<40} {s['tiles']:>5} {s['calls_per_epoch']:>11,} "
                     f"{s['problems_per_epoch']:>14,} {s['reads_per_epoch']:>11,} "
                     f"{s['seconds_per_epoch']:>11.1f} {s['calls']:>9,} {s['seconds']:>9.1f}")
    return "\n".join(lines)
