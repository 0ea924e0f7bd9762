"""A two-layer block with frozen neighbours as a batch of Ising problems on K(a, b).

Block ``(l, l+1)`` holds the spins of layer l (the block's *low* side, ``a = n_l`` units) and
layer l+1 (its *high* side, ``b = n_{l+1}`` units) active; every other layer is frozen
(docs/how-it-works.md §2). Its energy, in the network's convention (lower is better), is::

    E(low, high) = - h_low . low  -  h_high . high  -  high^T J low

with ``J = W^(l+1)`` of shape ``(b, a)``, ``h_low = W^l s^(l-1) + b^l`` and
``h_high = b^(l+1) + (W^(l+2))^T s^(l+2)``. A batch of P problems (one per image, or one per
image and reference class) shares ``J`` and differs in its fields.

:func:`BlockProblem.to_bqm` is the one place where the network's sign convention meets dimod's
(``E = sum h s + sum J s s``). Its variables use minorminer's biclique labels: the low side is
``0..a-1``, the high side ``a..a+b-1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dimod
import numpy as np

from .exceptions import BlockError
from .network import DTYPE, Network, spin_sign


@dataclass
class BlockProblem:
    """P Ising problems on K(a, b) that share their couplings.

    ``J``: ``(b, a)``; ``h_low``: ``(P, a)``; ``h_high``: ``(P, b)``; all float32.
    """

    J: np.ndarray
    h_low: np.ndarray
    h_high: np.ndarray

    def __post_init__(self):
        self.J = np.ascontiguousarray(self.J, dtype=DTYPE)
        self.h_low = np.ascontiguousarray(np.atleast_2d(self.h_low), dtype=DTYPE)
        self.h_high = np.ascontiguousarray(np.atleast_2d(self.h_high), dtype=DTYPE)
        b, a = self.J.shape
        if self.h_low.shape[1] != a or self.h_high.shape[1] != b or \
                self.h_low.shape[0] != self.h_high.shape[0]:
            raise BlockError(
                f"block fields do not match couplings J{self.J.shape}: h_low{self.h_low.shape} "
                f"must be (P, {a}) and h_high{self.h_high.shape} must be (P, {b})"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """``(a, b)``: spins on the low and the high side."""
        return self.J.shape[1], self.J.shape[0]

    @property
    def num_problems(self) -> int:
        return self.h_low.shape[0]

    @property
    def num_spins(self) -> int:
        return sum(self.shape)

    def field_scale(self) -> np.ndarray:
        """``(P,)`` typical local-field magnitude of each problem: the RMS, over units, of the
        field a unit feels when its neighbours are random, ``sqrt(mean(h_i^2 + sum_j J_ij^2))``.

        Annealers express their inverse temperature in units of ``1 / field_scale`` so that a
        schedule means the same thing as the weights grow during training (docs/how-it-works.md §3).
        """
        j2 = np.concatenate([(self.J ** 2).sum(axis=0), (self.J ** 2).sum(axis=1)])
        h2 = np.concatenate([self.h_low ** 2, self.h_high ** 2], axis=1)
        scale = np.sqrt((h2 + j2).mean(axis=1))
        return np.maximum(scale, np.finfo(DTYPE).tiny).astype(DTYPE)

    def low_field(self, high: np.ndarray, problems=slice(None)) -> np.ndarray:
        """Field on the low side given the high side: ``(P, R, b) -> (P, R, a)``."""
        flat = high.reshape(-1, high.shape[-1]) @ self.J
        return self.h_low[problems, None, :] + flat.reshape(high.shape[:-1] + flat.shape[-1:])

    def high_field(self, low: np.ndarray, problems=slice(None)) -> np.ndarray:
        """Field on the high side given the low side: ``(P, R, a) -> (P, R, b)``."""
        flat = low.reshape(-1, low.shape[-1]) @ self.J.T
        return self.h_high[problems, None, :] + flat.reshape(low.shape[:-1] + flat.shape[-1:])

    def energy(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Energies of spins ``low (P, R, a)``, ``high (P, R, b)`` -> ``(P, R)``."""
        coupling = np.einsum("prb,prb->pr", high, low @ self.J.T)
        return -(np.einsum("pra,pa->pr", low, self.h_low)
                 + np.einsum("prb,pb->pr", high, self.h_high) + coupling)

    def repeat(self, times: int) -> "BlockProblem":
        """Each problem repeated ``times`` times in a row: P -> P * times problems."""
        return BlockProblem(self.J, np.repeat(self.h_low, times, axis=0),
                            np.repeat(self.h_high, times, axis=0))

    # ---- the one place the sign conventions meet ---------------------------------------
    def to_bqm(self, p: int) -> dimod.BinaryQuadraticModel:
        """Problem ``p`` as a dimod SPIN BQM with dimod's convention ``E = h.s + s^T Q s``.

        Variables ``0..a-1`` are the low side, ``a..a+b-1`` the high side; the BQM's energy
        equals :meth:`energy` exactly (up to float rounding).
        """
        a, b = self.shape
        linear = -np.concatenate([self.h_low[p], self.h_high[p]]).astype(np.float64)
        quadratic = np.zeros((a + b, a + b))
        quadratic[:a, a:] = -self.J.T
        return dimod.BinaryQuadraticModel(linear, quadratic, 0.0, dimod.SPIN)

    def spins_to_dimod(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """``(..., a)``, ``(..., b)`` spins -> ``(..., a+b)`` int8 rows in the BQM's labelling."""
        return np.concatenate([low, high], axis=-1).astype(np.int8)

    def spins_from_dimod(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., a+b)`` rows in the BQM's labelling -> ``(low, high)`` float32 spins."""
        a, _ = self.shape
        rows = np.asarray(rows, dtype=DTYPE)
        return rows[..., :a], rows[..., a:]


@dataclass
class BlockSamples:
    """What a block sampler returns: ``reads`` samples of each of P problems.

    ``low``: ``(P, R, a)``; ``high``: ``(P, R, b)`` float32 ±1; ``energy``: ``(P, R)`` in the
    network's convention; ``info``: sampler figures (sweeps, seconds, ...).
    """

    low: np.ndarray
    high: np.ndarray
    energy: np.ndarray
    info: dict = field(default_factory=dict)

    def lowest(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lowest-energy read of each problem: ``(P, a)``, ``(P, b)``, ``(P,)``."""
        best = self.energy.argmin(axis=1)
        rows = np.arange(len(best))
        return self.low[rows, best], self.high[rows, best], self.energy[rows, best]

    def to_sampleset(self, problem: BlockProblem, p: int) -> dimod.SampleSet:
        """The reads of problem ``p`` as a dimod SampleSet in the BQM's labelling."""
        rows = problem.spins_to_dimod(self.low[p], self.high[p])
        return dimod.SampleSet.from_samples_bqm(rows, problem.to_bqm(p))


def block_problem(net: Network, l: int, x: np.ndarray, below=None, above=None) -> BlockProblem:
    """Block ``(l, l+1)`` of ``net`` with its neighbours frozen.

    ``x``: ``(P, n_0)`` inputs (used when ``l == 1``); ``below``: ``(P, n_{l-1})`` frozen
    spins of layer l-1 (ignored when ``l == 1``); ``above``: ``(P, n_{l+2})`` frozen spins of
    layer l+2 (ignored when ``l+1 == L``).
    """
    if not 1 <= l < net.depth:
        raise BlockError(f"block ({l}, {l + 1}) does not exist in a network of depth {net.depth}")
    lower = x if l == 1 else below
    h_low = lower @ net.W[l].T + net.b[l]
    h_high = np.broadcast_to(net.b[l + 1], (h_low.shape[0], net.sizes[l + 1]))
    if l + 1 < net.depth:
        h_high = h_high + above @ net.W[l + 2]
    return BlockProblem(net.W[l + 1], h_low, h_high)


def descend(problem: BlockProblem, low: np.ndarray, high: np.ndarray, max_passes: int = 50):
    """Zero-temperature finish: set the low side to the sign of its field, then the high side,
    and repeat until nothing changes (or ``max_passes``).

    The block is bipartite, so each half-pass is the exact minimum over one side given the
    other: the energy never rises. ``low``: ``(P, R, a)``; ``high``: ``(P, R, b)``.
    """
    for _ in range(max_passes):
        new_low = spin_sign(problem.low_field(high))
        new_high = spin_sign(problem.high_field(new_low))
        done = np.array_equal(new_low, low) and np.array_equal(new_high, high)
        low, high = new_low, new_high
        if done:
            break
    return low, high
