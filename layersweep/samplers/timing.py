"""D-Wave's QPU timing model: what one call costs, and how problems pack into calls.

:func:`access_time` is D-Wave's published access-time model (``problem_timing_data``); a real
solver's own timing data replaces :data:`PUBLISHED_TIMING`. :func:`pack_problems` is how a
QPU sampler puts problems on the disjoint copies (tiles) of a block's embedding. Both serve the
sampler (:mod:`.qpu`) and the dry run (:mod:`layersweep.cost`).
"""

from __future__ import annotations

import numpy as np

from ..exceptions import SamplerError

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

#: reads of a problem at most (Advantage's ``num_reads_range``), used when a solver has none
MAX_READS = 10000


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
