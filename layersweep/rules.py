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

from .network import DTYPE, Network


@dataclass
class LearningRates:
    """Learning rates per parameter group: ``W[l-1]`` for ``W^l`` and ``b[l-1]`` for ``b^l``,
    l = 1..L (the paper's δW, δJ for couplings and δh, δo for biases), and ``decay[l-1]``,
    the weight decay λ of ``W^l`` (``W += rate (ΔW - λ W)``; None: none); ``warmup``: the
    factors on the rates of the hidden-to-hidden couplings ``W^2..W^(L-1)``, ``b^2..b^(L-1)``
    in the deep net's first ``len(warmup)`` epochs (see :meth:`at`). A run's rates come
    from its recipe (:func:`layersweep.recipe.resolve`)."""

    W: list
    b: list
    decay: list | None = None
    warmup: tuple = ()

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


def block_gradients(l: int, below: np.ndarray, nudged: tuple, free: tuple, *,
                    inner: bool = True, lower: bool | None = None, weights=None) -> dict:
    """The parameter changes (before learning rates) that block ``(l, l+1)`` prescribes.

    ``below``: the frozen layer under the block, ``(B, n_{l-1})`` (the input ``x`` for
    l = 1; unused unless ``lower``); ``nudged = (low (B, a), high (B, b))``;
    ``free = (low (B, m, a), high (B, m, b))``. Returns, minibatch-averaged, the inner
    coupling ``{"W{l+1}": (b, a), "b{l+1}": (b,)}`` if ``inner``, and the coupling from below
    ``{"W{l}": (a, n_{l-1}), "b{l}": (a,)}`` if ``lower`` (None: only for l = 1).
    ``weights``: None (``⟨·⟩`` the plain mean over the m samples) or ``(B, m)``, each row
    summing to 1 (``⟨·⟩`` the weighted mean: amplified samples, ``sweep.amplified_weights``).
    """
    n_low, n_high = nudged
    f_low, f_high = free
    B, m = f_low.shape[:2]
    if lower is None:
        lower = l == 1
    grads = {}
    flat_low = f_low.reshape(B * m, -1)
    if weights is None:           # <.> the plain mean over the m samples of each image
        flat_high = f_high.reshape(B * m, -1)
        correlation = flat_high.T @ flat_low / (B * m)
        mean_high = flat_high.mean(axis=0)
        mean_low = f_low.mean(axis=1)
    else:                         # <.> the weighted mean
        w_high = f_high * weights[..., None]
        correlation = w_high.reshape(B * m, -1).T @ flat_low / B
        mean_high = w_high.sum(axis=1).mean(axis=0)
        mean_low = (f_low * weights[..., None]).sum(axis=1)
    if inner:
        grads[f"W{l + 1}"] = n_high.T @ n_low / B - correlation
        grads[f"b{l + 1}"] = n_high.mean(axis=0) - mean_high
    if lower:
        delta = n_low - mean_low
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
