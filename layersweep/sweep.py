"""Forward and backward active-layer sweeps (docs/how-it-works.md §3).

Only two adjacent layers are ever active: block ``(l, l+1)`` is annealed with every other
layer frozen. One training step for a minibatch ``(x, y)``:

1. **forward sweep** (free phase): layers start at the sign of their feed-forward fields;
   blocks ``(1,2) .. (L-1,L)`` are annealed in turn, each keeping its lowest state;
2. **backward sweep**: blocks ``(L-1,L) .. (1,2)``; for each, the nudged state, ``m`` free
   samples (started from the reference states of wrong classes, or from random states), and
   the block's gradients (:mod:`layersweep.rules`). A lower block's free samples see the
   layer above frozen at a wrong class's reference value (a class contrast) or, for a
   fraction ``error_driven`` of them, at the free samples of the block above (the network's
   own answer, as the shallow net's free samples are).

With L = 2 there is one block, no forward sweep is needed (no block has a free neighbour),
and the step is exactly the paper's quantum propagation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .blocks import BlockProblem, BlockSamples, block_problem
from .exceptions import ArchitectureError
from .network import DTYPE, Network, spin_sign
from .rules import block_gradients
from .samplers import BlockSampler
from .samplers.annealer import finish
from .samplers.statevector import basis_spins

STARTS = ("reference", "random", "top-reference")
FROZEN_ABOVE = ("reference", "free")
HIDDEN_COUPLINGS = ("inner", "upper")
AMPLIFY = ("none", "split", "literal")


@dataclass
class SweepConfig:
    """How a backward sweep samples each block.

    ``reads``: m, free samples per image and block; ``start``: ``"reference"`` (each read
    starts from the reference state of a wrong class, cycling over them), ``"random"``, or
    ``"top-reference"`` (the top block's reads from reference states, as the shallow net's
    QP, the lower blocks' from random states; with L = 2 the same as ``"reference"``);
    ``cycles``: cyclic annealing, each cycle restarting every read from the lowest state it
    has found so far; ``frozen_above``: for a lower block's free samples, whether the layer
    above the block is frozen at the wrong-class reference value of the read
    (``"reference"``) or at its free value (``"free"``) — immaterial when L = 2;
    ``error_driven``: with ``"reference"``, the fraction of each lower block's reads (the
    first ``round(error_driven * reads)``) whose layer above is frozen at the matching free
    sample of the block above instead; ``hidden_couplings``: which block learns each
    hidden-to-hidden coupling ``W^l, b^l`` (``2 <= l < L``): ``"inner"``, block
    ``(l-1, l)`` (the sweep as first written), or ``"upper"``, block ``(l, l+1)``, from its frozen
    layer below as block (1, 2) learns ``W^1, b^1`` from the input; ``amplify``: how the top
    block's free samples are drawn, ``"none"`` (plain reads) or by amplitude amplification of
    the wrong-class component (a sampler with ``sample_marked``, forward anneals):
    ``"split"``, half of the m reads amplified, half plain, combined without bias
    (:func:`amplified_weights`), or ``"literal"``, all m amplified and averaged (biased: the
    free term never matches a right answer).
    """

    reads: int = 20
    start: str = "reference"
    cycles: int = 1
    frozen_above: str = "reference"
    error_driven: float = 0.0
    hidden_couplings: str = "inner"
    amplify: str = "none"

    def __post_init__(self):
        if not isinstance(self.reads, (int, np.integer)) or self.reads < 1:
            raise ArchitectureError(f"reads (m) must be a positive integer; got {self.reads!r}")
        if self.start not in STARTS:
            raise ArchitectureError(f"start must be one of {STARTS}; got {self.start!r}")
        if not isinstance(self.cycles, (int, np.integer)) or self.cycles < 1:
            raise ArchitectureError(f"cycles must be a positive integer; got {self.cycles!r}")
        if self.frozen_above not in FROZEN_ABOVE:
            raise ArchitectureError(
                f"frozen_above must be one of {FROZEN_ABOVE}; got {self.frozen_above!r}")
        check_error_driven(self.error_driven)
        if self.error_driven and self.frozen_above != "reference":
            raise ArchitectureError(
                f"error_driven={self.error_driven} mixes error-driven reads into the "
                f"reference ones: it needs frozen_above='reference' (got "
                f"{self.frozen_above!r}; 'free' reads are all error-driven already)")
        if self.hidden_couplings not in HIDDEN_COUPLINGS:
            raise ArchitectureError(f"hidden_couplings must be one of {HIDDEN_COUPLINGS}; "
                                    f"got {self.hidden_couplings!r}")
        if self.amplify not in AMPLIFY:
            raise ArchitectureError(f"amplify must be one of {AMPLIFY}; got {self.amplify!r}")
        if self.amplify != "none" and self.start != "random":
            raise ArchitectureError(f"amplify={self.amplify!r} draws free samples from forward "
                                    f"anneals (the reflection S_0 is about |+>^n): it needs "
                                    f"start='random'; got start={self.start!r}")

    def error_driven_reads(self) -> int:
        """How many of a lower block's reads are error-driven."""
        return int(round(self.error_driven * self.reads))

    def amplified_reads(self) -> int:
        """How many of the top block's m reads are amplified (the rest are plain)."""
        return {"none": 0, "split": self.reads - self.reads // 2,
                "literal": self.reads}[self.amplify]


def check_error_driven(error_driven, depth: int | None = None) -> float:
    """A fraction of reads: a number in [0, 1]; with ``depth``, > 0 needs a deep net."""
    try:
        value = float(error_driven)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(error_driven, bool) or not 0.0 <= value <= 1.0:
        raise ArchitectureError(f"error_driven must be a fraction of the reads in [0, 1] (0: "
                                f"every lower block's read contrasts a wrong class); got "
                                f"{error_driven!r}")
    if value and depth is not None and depth <= 2:
        raise ArchitectureError(f"error_driven={error_driven} needs a deep net (two or more "
                                f"hidden layers); the L = 2 net has no lower block")
    return value


@dataclass
class BlockReport:
    """What a backward sweep measured on one block, averaged over the minibatch.

    ``gap``: mean energy of the free samples minus the energy of the nudged state in the same
    (free) problem; ``correct``: fraction of free samples whose output already predicts the
    label (output block only, else NaN).
    """

    block: tuple
    gap: float
    correct: float


def seed_from(rng: np.random.Generator) -> int:
    """A child seed for one sampler call, drawn from the run's generator."""
    return int(rng.integers(2 ** 31))


def forward_sweep(net: Network, sampler: BlockSampler, x: np.ndarray,
                  rng: np.random.Generator) -> list:
    """The free state ``[None, s^1, ..., s^L]`` of each image, ``s^l``: ``(B, n_l)``.

    Each block is annealed from the current state (a warm start) and keeps whichever is
    lower, the annealed state or the current one: the total energy never rises.
    """
    states = net.feedforward(x)
    for l in range(1, net.depth):
        above = states[l + 2] if l + 2 <= net.depth else None
        problem = block_problem(net, l, x, states[l - 1], above)
        current = (states[l][:, None, :], states[l + 1][:, None, :])
        low, high, energy = sampler.sample(problem, 1, initial=current, seed=seed_from(rng)).lowest()
        better = (energy < problem.energy(*current)[:, 0])[:, None]
        states[l] = np.where(better, low, states[l])
        states[l + 1] = np.where(better, high, states[l + 1])
    return states


def reference_classes(y: np.ndarray, reads: int, classes: int, rng: np.random.Generator):
    """``(B, reads)`` wrong classes: for each image a random order of the ``classes - 1``
    wrong classes, cycled to length ``reads``."""
    B = len(y)
    offsets = np.argsort(rng.random((B, classes - 1)), axis=1) + 1
    cycle = np.resize(np.arange(classes - 1), reads)
    return (y[:, None] + offsets[:, cycle]) % classes


def reference_states(net: Network, x: np.ndarray, wrong: np.ndarray) -> list:
    """Reference configurations for wrong classes ``wrong (B, R)``: output clamped to
    ``n[ỹ]``, lower layers top-down at the sign of their fields. Returns
    ``[None, (B, R, n_1), ..., (B, R, n_L)]``."""
    per_class = net.clamped_descent(x[:, None, :], net.targets(np.arange(net.classes)))
    rows = np.arange(len(wrong))[:, None]
    return [None] + [layer[rows, wrong] for layer in per_class[1:]]


def _sample_free(sampler, problem: BlockProblem, reads: int, initial, cycles: int,
                 rng) -> BlockSamples:
    """m free samples; with ``cycles > 1`` each read restarts from its lowest state so far."""
    samples = sampler.sample(problem, reads, initial=initial, seed=seed_from(rng))
    for _ in range(cycles - 1):
        again = sampler.sample(problem, reads, initial=(samples.low, samples.high),
                               seed=seed_from(rng))
        better = again.energy < samples.energy
        samples = BlockSamples(np.where(better[..., None], again.low, samples.low),
                               np.where(better[..., None], again.high, samples.high),
                               np.where(better, again.energy, samples.energy), again.info)
    return samples


def wrong_outputs(net: Network, y: np.ndarray) -> np.ndarray:
    """The oracle of amplified sampling: ``(B, 2**n_L)`` bool, for each image every output
    basis state that does not predict its class ``y (B,)`` (a wrong class or a tie)."""
    outputs = basis_spins(net.sizes[-1])      # in the state-vector sampler's bit order
    return net.predict_output(outputs)[None, :] != y[:, None]


def amplified_weights(marked: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Weights ``(B, m)`` (rows sum to 1) of the free samples of ``"split"`` amplification.

    The free average splits as ``<s s>_psi = a <s s>_wrong + (1 - a) <s s>_right`` with
    ``a = |A_wrong|**2``: every sample that predicts a wrong class (amplified or plain; both
    are draws of the wrong component) shares ``estimate`` ``(B,)``, every other one
    ``1 - estimate``. A part with no sample gives its weight to the other.
    ``marked``: ``(B, m)`` bool, which samples predict a wrong class.
    """
    wrong = marked.sum(axis=1)
    right = marked.shape[1] - wrong
    share = np.where(wrong == 0, 0.0, np.where(right == 0, 1.0, np.clip(estimate, 0, 1)))
    weights = np.where(marked, share[:, None] / np.maximum(wrong, 1)[:, None],
                       (1 - share)[:, None] / np.maximum(right, 1)[:, None])
    return weights.astype(DTYPE)


def _sample_amplified(sampler, problem: BlockProblem, net: Network, y: np.ndarray,
                      config: SweepConfig, rng) -> tuple:
    """The top block's m free samples by amplitude amplification: ``(samples, weights)``,
    ``weights`` ``(B, m)`` or None (uniform)."""
    amplified = config.amplified_reads()
    samples = sampler.sample_marked(problem, wrong_outputs(net, y), amplified,
                                    plain=config.reads - amplified, seed=seed_from(rng))
    if config.amplify == "literal":
        return samples, None
    return samples, amplified_weights(samples.info["marked"], samples.info["estimate"])


def backward_sweep(net: Network, sampler: BlockSampler, x: np.ndarray, y: np.ndarray,
                   config: SweepConfig, rng: np.random.Generator, free=None):
    """Nudged states, free samples and gradients of every block, top block first.

    ``x``: ``(B, n_0)``; ``y``: ``(B,)``; ``free``: the forward sweep's states (needed when
    L > 2). Returns ``(grads, reports)``: every parameter's change before learning rates
    (computed from the parameters as they were at the start of the sweep) and one
    :class:`BlockReport` per block.
    """
    L = net.depth
    B = len(y)
    m = config.reads
    nudged = [None] * (L + 1)
    nudged[L] = net.targets(y)
    wrong = reference_classes(y, m, net.classes, rng)
    reference = reference_states(net, x, wrong)
    warm_nudged = net.clamped_descent(x, nudged[L]) if L > 2 else None
    upper = config.hidden_couplings == "upper"
    driven = config.error_driven_reads()
    grads, reports = {}, []
    above_free = None  # the upper layer of the block above's free samples, (B, m, n_(l+2))
    for l in range(L - 1, 0, -1):
        below = free[l - 1] if l > 1 else None
        # the nudged state of the block: layer l+2 at its nudged value, layer l-1 free
        if l + 1 == L:
            problem = block_problem(net, l, x, below)
            n_high = nudged[L]
            n_low = spin_sign(problem.low_field(n_high[:, None, :])[:, 0])
        else:
            problem = block_problem(net, l, x, below, nudged[l + 2])
            start = (warm_nudged[l][:, None, :], warm_nudged[l + 1][:, None, :])
            n_low, n_high, _ = sampler.sample(problem, 1, initial=start,
                                              seed=seed_from(rng)).lowest()
        nudged[l], nudged[l + 1] = n_low, n_high
        # m free samples with the neighbours frozen
        per_read = l + 1 < L and config.frozen_above == "reference"
        if l + 1 == L:
            free_problem = problem
        elif per_read:
            frozen = reference[l + 2]
            if driven:
                frozen = frozen.copy()
                frozen[:, :driven] = above_free[:, :driven]
            free_problem = block_problem(net, l, np.repeat(x, m, axis=0) if l == 1 else x,
                                         None if below is None else np.repeat(below, m, axis=0),
                                         frozen.reshape(B * m, -1))
        else:
            free_problem = block_problem(net, l, x, below, free[l + 2])
        initial = None
        if config.start == "reference" or (config.start == "top-reference" and l + 1 == L):
            initial = (reference[l], reference[l + 1])
        weights = None
        if per_read:
            if initial is not None:
                initial = tuple(s.reshape(B * m, 1, -1) for s in initial)
            samples = _sample_free(sampler, free_problem, 1, initial, config.cycles, rng)
            f_low, f_high = samples.low.reshape(B, m, -1), samples.high.reshape(B, m, -1)
            f_energy = samples.energy.reshape(B, m)
            n_energy = free_problem.energy(np.repeat(n_low, m, axis=0)[:, None],
                                           np.repeat(n_high, m, axis=0)[:, None]).reshape(B, m)
        else:
            if config.amplify != "none" and l + 1 == L:
                samples, weights = _sample_amplified(sampler, free_problem, net, y, config, rng)
            else:
                samples = _sample_free(sampler, free_problem, m, initial, config.cycles, rng)
            f_low, f_high, f_energy = samples.low, samples.high, samples.energy
            n_energy = free_problem.energy(n_low[:, None], n_high[:, None])
        grads.update(block_gradients(l, x if l == 1 else below, (n_low, n_high),
                                     (f_low, f_high), inner=l + 1 == L or not upper,
                                     lower=l == 1 or upper, weights=weights))
        above_free = f_high
        correct = np.nan
        if l + 1 == L:
            right = net.predict_output(f_high) == y[:, None]
            correct = float(right.mean() if weights is None else (weights * right).sum(1).mean())
        gap = (f_energy - n_energy).mean() if weights is None \
            else (weights * (f_energy - n_energy)).sum(1).mean()
        reports.append(BlockReport((l, l + 1), float(gap), correct))
    return grads, reports


def whole_descent(net: Network, x: np.ndarray, states: list, max_passes: int = 50) -> list:
    """Zero-temperature descent of the whole network: odd layers, then even layers, set to
    the sign of their fields (each set is independent given the other), until nothing
    changes. The energy never rises. ``states``: ``[None, (..., n_1), ...]``."""
    states = list(states)
    drive = x @ net.W[1].T + net.b[1]  # layer 1's input term: the same in every pass
    for _ in range(max_passes):
        changed = False
        for parity in (1, 0):
            for l in range(1, net.depth + 1):
                if l % 2 == parity:
                    if l == 1:
                        field = drive + states[2] @ net.W[2] if net.depth > 1 else drive
                    else:
                        field = net.field(l, states, x)
                    new = spin_sign(field)
                    changed |= not np.array_equal(new, states[l])
                    states[l] = new
        if not changed:
            break
    return states


def ground_states(net: Network, x: np.ndarray, sampler: BlockSampler,
                  rng: np.random.Generator, reads: int = 1) -> list:
    """The lowest-energy state found for each input (inference, docs/how-it-works.md §3).

    Candidates: zero-temperature descents from each class's nudged state, and the lowest of
    ``reads`` annealed free states (block anneals from random starts when L = 2, a forward
    sweep otherwise); the lowest energy wins. Once a network is trained its ground state lies
    in one class's basin, so the descents find it and one read suffices.
    ``x``: ``(B, n_0)`` -> ``[None, (B, n_1), ..., (B, n_L)]``.

    With L = 2 the network is one block, and its whole descent is the block's
    zero-temperature finish (the compiled one of :mod:`layersweep.samplers.annealer`) from
    the output side: the class descents are one batched call with the input's field computed
    once.
    """
    B = len(x)
    if net.depth == 2:
        problem = block_problem(net, 1, x)
        classes = net.targets(np.arange(net.classes))
        starts = np.broadcast_to(classes, (B,) + classes.shape)
        low, high, _ = sampler.sample(problem, reads, seed=seed_from(rng)).lowest()
        starts = np.concatenate([starts, high[:, None]], axis=1)
        low, high = finish(problem, starts)
        best = problem.energy(low, high).argmin(axis=1)
        rows = np.arange(B)
        return [None, low[rows, best], high[rows, best]]
    xs = x[:, None, :]
    starts = net.clamped_descent(xs, net.targets(np.arange(net.classes)))
    candidates = whole_descent(net, xs, starts)
    annealed = forward_sweep(net, sampler, x, rng)
    annealed = whole_descent(net, x, annealed)
    candidates = [None] + [np.concatenate([c, a[:, None]], axis=1)
                           for c, a in zip(candidates[1:], annealed[1:])]
    best = net.energy(candidates, xs).argmin(axis=1)
    rows = np.arange(B)
    return [None] + [c[rows, best].astype(DTYPE) for c in candidates[1:]]


def class_energies(net: Network, x: np.ndarray, max_passes: int = 50) -> tuple:
    """The lowest energy with the output clamped to each class's pattern, and the block's
    temperature, for each input ``x (B, n_0)``: ``(E (B, C), T (B,))``.

    With the output clamped to ``n[c]``, the hidden layers start from
    :meth:`~layersweep.network.Network.clamped_descent` and descend, odd and even layers in
    turn, to the sign of their fields; with one hidden layer that is the exact minimum (the
    hidden spins are independent given the input and the output), deeper it is a local one.
    ``T`` is the top block's field scale (:meth:`~layersweep.blocks.BlockProblem.field_scale`,
    the feed-forward state below it frozen): the unit in which the annealers measure
    temperature.
    """
    C, L = net.classes, net.depth
    # in float64: the figures are then the same for a row whatever batch it comes in
    net = Network(list(net.sizes), net.classes, net.redundancy,
                  [None] + [w.astype(np.float64) for w in net.W[1:]],
                  [None] + [v.astype(np.float64) for v in net.b[1:]])
    x = np.asarray(x, np.float64)
    targets = net.targets(np.arange(C))
    xs = x[:, None, :]
    states = net.clamped_descent(xs, targets)
    for _ in range(max_passes if L > 2 else 0):
        changed = False
        for parity in (1, 0):
            for l in range(1, L):
                if l % 2 == parity:
                    new = spin_sign(net.field(l, states, xs))
                    changed |= not np.array_equal(new, states[l])
                    states[l] = new
        if not changed:
            break
    energies = net.energy(states, xs)
    below = net.feedforward(x)[L - 2] if L > 2 else None
    scale = block_problem(net, L - 1, x, below).field_scale()
    return energies.astype(np.float64), scale.astype(np.float64)
