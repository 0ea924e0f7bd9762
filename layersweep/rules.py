"""EP/QP parameter updates of one block (docs/how-it-works.md §4).

For block ``(l, l+1)``, with the nudged state ``N`` and m free samples ``γ`` (``⟨·⟩`` the
mean over γ, then over the images of a minibatch), the coupling inside the block::

    ΔW^(l+1) = η ( s^(l+1),N (s^(l),N)^T - ⟨ s^(l+1),γ (s^(l),γ)^T ⟩ )
    Δb^(l+1) = η ( s^(l+1),N - ⟨ s^(l+1),γ ⟩ )

and the coupling from the frozen layer below into the block's lower layer (``s^(0) = x``)::

    ΔW^l = η (s^(l),N - ⟨s^(l),γ⟩) (s^(l-1))^T,   Δb^l = η (s^(l),N - ⟨s^(l),γ⟩).

Which block learns which coupling is the sweep's choice (``hidden_couplings``): as the sweep
was first written, each block its inner coupling and the lowest block also ``W^1``; or each block
the coupling from below (``"upper"``), and the top block its inner one too.

m = 1 with a plain free state is equilibrium propagation (EP); m > 1 with reference-state
sampling is quantum propagation (QP). Each update lowers the nudged energy and raises the
energies of the sampled free states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .exceptions import ArchitectureError
from .network import DTYPE, Network


#: how two rates (δW, δJ), the shallow net's, spread over a deep net's couplings, by the block
#: that learns the hidden-hidden couplings: W^1 gets δW x 1/2, each hidden-hidden coupling δJ
#: x 1/6 when learnt inside its block ("inner": a class contrast that never dies out, kept
#: slow so that no layer's field swamps the others) or δJ x 2/3 when learnt from below
#: ("upper": an error-driven signal, as the shallow net's input coupling), the top coupling
#: δJ x 1/2 (the measured best of experiments/depth.py and its prototypes, README "Deep
#: networks")
DEEP_RATE_FACTORS = {"inner": (0.5, 1.0 / 6.0, 0.5), "upper": (0.5, 2.0 / 3.0, 0.5)}
#: the default warm-up of the hidden-hidden couplings learnt from below ("upper"): factors on
#: their rates in the first three epochs of the deep net, while the layers above, untrained
#: at the hand-over from a greedy start, would otherwise drag layer 2 along with their errors
#: (measured: README "Deep networks")
UPPER_WARMUP = (0.1, 0.3, 0.6)


@dataclass
class LearningRates:
    """Learning rates per parameter group: ``W[l-1]`` for ``W^l`` and ``b[l-1]`` for ``b^l``,
    l = 1..L (the paper's δW, δJ for couplings and δh, δo for biases), and ``decay[l-1]``,
    the weight decay λ of ``W^l`` (``W += rate (ΔW - λ W)``; None: none); ``warmup``: the
    factors on the rates of the hidden-to-hidden couplings ``W^2..W^(L-1)``, ``b^2..b^(L-1)``
    in the deep net's first ``len(warmup)`` epochs (see :meth:`at`)."""

    W: list
    b: list
    decay: list | None = None
    warmup: tuple = ()

    @classmethod
    def broadcast(cls, W, b, depth: int, hidden_decay: float = 0.0,
                  hidden_couplings: str = "inner", hidden_warmup=()) -> "LearningRates":
        """Rates per layer from one value (every layer), two values (the shallow net's: the
        input couplings, then the others; a deep net scales them by
        :data:`DEEP_RATE_FACTORS` of its ``hidden_couplings``) or one value per layer
        (``depth`` values, as given); ``hidden_decay``: the weight decay of each
        hidden-to-hidden coupling ``W^2..W^(L-1)`` (the input and top couplings never
        decay); ``hidden_warmup``: their rate factors in the deep net's first epochs."""
        if hidden_couplings not in DEEP_RATE_FACTORS:
            raise ArchitectureError(f"hidden_couplings must be one of "
                                    f"{tuple(DEEP_RATE_FACTORS)}; got {hidden_couplings!r}")
        def expand(value, name):
            values = _values(value, name)
            if len(values) == 1:
                values = values * depth
            elif len(values) == 2 and depth > 2:
                first, middle, top = DEEP_RATE_FACTORS[hidden_couplings]
                values = ([values[0] * first] + [values[1] * middle] * (depth - 2)
                          + [values[1] * top])
            if len(values) != depth:
                raise ArchitectureError(
                    f"{name} needs 1, 2 (input layer, other layers) or {depth} (one per "
                    f"coupling layer) learning rates; got {len(values)}")
            return values
        hidden_decay = check_hidden_decay(hidden_decay)
        decay = [0.0] + [hidden_decay] * (depth - 2) + [0.0] if hidden_decay and depth > 2 else None
        return cls(expand(W, "lr_W"), expand(b, "lr_b"), decay,
                   check_hidden_warmup(hidden_warmup, depth))

    def scaled(self, factor: float) -> "LearningRates":
        """Every rate times ``factor`` (the weight decays and the warm-up unchanged)."""
        return LearningRates([r * factor for r in self.W], [r * factor for r in self.b],
                             self.decay, self.warmup)

    def at(self, epoch: int) -> "LearningRates":
        """The rates of the deep net's epoch ``epoch`` (0: its first, after any greedy
        start): inside the warm-up, the hidden-to-hidden couplings' rates times
        ``warmup[epoch]``; after it, these rates themselves."""
        if not 0 <= epoch < len(self.warmup):
            return self
        factor = self.warmup[epoch]
        def warm(rates):
            return [rates[0]] + [r * factor for r in rates[1:-1]] + [rates[-1]]
        return LearningRates(warm(self.W), warm(self.b), self.decay)

    @classmethod
    def shallow(cls, W, b) -> "LearningRates":
        """The rates of a greedy stage's shallow net (input, first hidden layer, output) from
        a deep net's settings: one value or two (δW, δJ) as given; per-layer values give
        their first (W^1) and last (the top coupling)."""
        def pick(value, name):
            values = _values(value, name)
            return values * 2 if len(values) == 1 else [values[0], values[-1]]
        return cls(pick(W, "lr_W"), pick(b, "lr_b"))


def check_hidden_decay(hidden_decay) -> float:
    """A weight decay is a finite number >= 0."""
    try:
        value = float(hidden_decay)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(hidden_decay, bool) or not np.isfinite(value) or value < 0:
        raise ArchitectureError(f"hidden_decay must be a finite number >= 0 (0: no weight "
                                f"decay); got {hidden_decay!r}")
    return value


def check_hidden_warmup(hidden_warmup, depth: int | None = None) -> tuple:
    """A warm-up is a sequence of factors in [0, 1] (empty: none); with ``depth``, a
    non-empty one needs a deep net."""
    try:
        values = np.asarray(hidden_warmup, dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if isinstance(hidden_warmup, (bool, str)) or values.ndim != 1 \
            or not np.all((values >= 0) & (values <= 1)):
        raise ArchitectureError(f"hidden_warmup must be a sequence of rate factors in [0, 1], "
                                f"one per epoch of the warm-up (empty: none); got "
                                f"{hidden_warmup!r}")
    if len(values) and depth is not None and depth <= 2:
        raise ArchitectureError(f"hidden_warmup={hidden_warmup!r} needs a deep net (two or "
                                f"more hidden layers); the L = 2 net has no hidden-to-hidden "
                                f"coupling")
    return tuple(float(v) for v in values)


def _values(value, name) -> list:
    values = [float(v) for v in np.atleast_1d(value)]
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ArchitectureError(f"{name} learning rates must be finite and >= 0; got {values}")
    return values


def block_gradients(l: int, below: np.ndarray, nudged: tuple, free: tuple, *,
                    inner: bool = True, lower: bool | None = None) -> dict:
    """The parameter changes (before learning rates) that block ``(l, l+1)`` prescribes.

    ``below``: the frozen layer under the block, ``(B, n_{l-1})`` (the input ``x`` for
    l = 1; unused unless ``lower``); ``nudged = (low (B, a), high (B, b))``;
    ``free = (low (B, m, a), high (B, m, b))``. Returns, minibatch-averaged, the inner
    coupling ``{"W{l+1}": (b, a), "b{l+1}": (b,)}`` if ``inner``, and the coupling from below
    ``{"W{l}": (a, n_{l-1}), "b{l}": (a,)}`` if ``lower`` (None: only for l = 1).
    """
    n_low, n_high = nudged
    f_low, f_high = free
    B, m = f_low.shape[:2]
    if lower is None:
        lower = l == 1
    grads = {}
    if inner:
        flat_low = f_low.reshape(B * m, -1)
        flat_high = f_high.reshape(B * m, -1)
        grads[f"W{l + 1}"] = n_high.T @ n_low / B - flat_high.T @ flat_low / (B * m)
        grads[f"b{l + 1}"] = n_high.mean(axis=0) - flat_high.mean(axis=0)
    if lower:
        delta = n_low - f_low.mean(axis=1)
        grads[f"W{l}"] = delta.T @ below / B
        grads[f"b{l}"] = delta.mean(axis=0)
    return grads


def apply_gradients(net: Network, grads: dict, rates: LearningRates) -> None:
    """``param += rate * grad`` for every parameter named in ``grads`` (in place); a coupling
    with a weight decay λ takes ``rate * (grad - λ W)``."""
    for name, grad in grads.items():
        kind, l = name[0], int(name[1:])
        target = net.W if kind == "W" else net.b
        rate = rates.W[l - 1] if kind == "W" else rates.b[l - 1]
        step = grad.astype(DTYPE, copy=False)
        if kind == "W" and rates.decay is not None and rates.decay[l - 1]:
            step = step - DTYPE(rates.decay[l - 1]) * target[l]
        target[l] += DTYPE(rate) * step
