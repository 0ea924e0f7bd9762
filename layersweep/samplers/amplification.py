"""Amplitude amplification of a marked component, and the estimate of its weight.

An anneal ``U`` takes its start state ``|psi0>`` to ``|psi> = U|psi0> = sin(theta) |psi_m> +
cos(theta) |psi_u>``: ``|psi_m>`` is the normalised projection on the *marked* basis states
(the ones an oracle ``S_m = I - 2 Pi_m`` flips), ``|psi_u>`` the rest, and
``a = sin(theta)**2 = |A_m|**2`` the probability that a plain read is marked. The Grover
iterate ``G = -U S_0 U^dagger S_m`` (``S_0 = I - 2|psi0><psi0|``) rotates by ``2 theta`` in
the plane of ``|psi_m>`` and ``|psi_u>``::

    G^k |psi> = sin((2k+1) theta) |psi_m> + cos((2k+1) theta) |psi_u>

(Brassard, Hoyer, Mosca, Tapp 2002). A measurement after ``k`` iterations is marked with
probability ``sin((2k+1) theta)**2``; given its outcome (marked or not) it is distributed as
``|psi_m>`` or ``|psi_u>`` measured, whatever ``k``: the relative amplitudes inside each part
never change. One attempt with ``k`` iterations costs ``1 + 2k`` anneals (``U`` once, then
``U`` and ``U^dagger`` per iteration). :func:`layersweep.samplers.statevector.grover_state`
applies ``G`` literally and its test checks the formula; the functions here draw the attempts
of the protocols from it.

- :func:`bbht`: the randomised exponential search of Boyer, Brassard, Hoyer and Tapp (1998),
  for an unknown ``theta``: attempt ``k`` uniform in ``[0, M)``, ``M`` growing by
  :data:`GROWTH` after each unmarked outcome, up to ``k_cap``; expected cost
  ``O(1 / sqrt(a))`` anneals per marked sample.
- :func:`exact`: the bound for a known ``theta``: ``k = floor(pi / (4 theta))`` iterations
  (success probability at least ``1 - a``), repeated until marked.
- :func:`estimate`: the maximum-likelihood estimate of ``a`` from measured attempts (their
  ``k`` and outcome), as in amplitude estimation without phase estimation (Suzuki et al.
  2020): the attempts a search already made estimate ``a`` at no extra anneal.
"""

from __future__ import annotations

import math

import numpy as np

#: BBHT's growth factor of the range of ``k`` (any value in (1, 4/3) keeps its bound)
GROWTH = 6 / 5
#: protocols for an amplified sample
PROTOCOLS = ("bbht", "exact")


def marked_probability(theta: float, k) -> np.ndarray:
    """``sin((2k+1) theta)**2``: the probability that a measurement after ``k`` Grover
    iterations is marked."""
    return np.sin((2 * np.asarray(k) + 1) * theta) ** 2


def bbht(theta: float, rng: np.random.Generator, k_cap: int, budget: int) -> tuple:
    """One marked sample by randomised exponential search.

    Returns ``(found, attempts)``: whether the last measurement was marked, and the
    iterations ``k`` of every attempt, in order (``found`` concerns the last one). Stops at the
    first marked outcome or once the attempts have cost ``budget`` anneals.
    """
    limit, spent, attempts = 1.0, 0, []
    while spent < budget:
        k = int(rng.integers(0, max(1, int(limit))))
        attempts.append(k)
        spent += 1 + 2 * k
        if rng.random() < marked_probability(theta, k):
            return True, attempts
        limit = min(limit * GROWTH, k_cap)
    return False, attempts


def exact(theta: float, rng: np.random.Generator, k_cap: int, budget: int) -> tuple:
    """One marked sample with the optimal number of iterations for a known ``theta``
    (the bound no protocol for an unknown ``theta`` beats): ``(found, attempts)`` as
    :func:`bbht`. ``theta = 0`` (nothing marked) is known to need no attempt."""
    if theta <= 0:
        return False, []
    k = min(int(math.floor(math.pi / (4 * theta))), k_cap)
    spent, attempts = 0, []
    while spent < budget:
        attempts.append(k)
        spent += 1 + 2 * k
        if rng.random() < marked_probability(theta, k):
            return True, attempts
    return False, attempts


def anneals(attempts) -> int:
    """The cost of attempts with iterations ``attempts``: ``sum(1 + 2k)`` anneals."""
    return int(sum(1 + 2 * k for k in attempts))


def estimate(counts: dict) -> float:
    """Maximum-likelihood ``a = sin(theta)**2`` from measured attempts.

    ``counts``: ``{k: (marked, total)}``, the outcomes of attempts with ``k`` iterations
    (plain reads are ``k = 0``). The log-likelihood ``sum_k marked log p_k + (total - marked)
    log(1 - p_k)``, ``p_k = sin((2k+1) theta)**2``, is maximised on a grid of ``theta`` in
    ``[0, pi/2]`` fine enough for the largest ``k`` (32 points per period). No attempt: NaN.
    """
    counts = {int(k): v for k, v in counts.items() if v[1] > 0}
    if not counts:
        return math.nan
    ks = np.array(sorted(counts))
    marked = np.array([counts[k][0] for k in ks], float)
    total = np.array([counts[k][1] for k in ks], float)
    points = max(2048, 32 * int(2 * ks.max() + 1))
    theta = np.linspace(0.0, math.pi / 2, points + 1)
    p = np.clip(np.sin(np.outer(theta, 2 * ks + 1)) ** 2, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    loglik = np.log(p) @ marked + np.log(q) @ (total - marked)
    return float(np.sin(theta[int(np.argmax(loglik))]) ** 2)
