"""The layered Ising network: layer sizes, parameters, energy, local fields, predictions.

Layers ``0..L``: layer 0 is the real-valued input ``x`` (``n_0`` values in [0, 1]); layers
``1..L`` are spins in {-1, +1}. Layer ``L`` is the output, ``classes * redundancy`` units; the
prediction is the class whose group of ``redundancy`` consecutive output spins has the largest
sum (a tie is no prediction, reported as ``-1``).

Parameters (docs/how-it-works.md §1): couplings ``W[l]`` of shape ``(n_l, n_{l-1})`` and biases ``b[l]`` of
shape ``(n_l,)`` for ``l = 1..L``, stored in lists indexed by ``l`` (index 0 unused: ``None``).
The energy of a configuration, with ``s^0 = x``, is::

    E(s; x) = - sum_l (s^l)^T W^l s^(l-1)  -  sum_l (b^l)^T s^l

This module knows nothing about samplers or training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .exceptions import ArchitectureError

DTYPE = np.float32


def parse_layers(text: str) -> list[int]:
    """``"784,120,40"`` -> ``[784, 120, 40]``, with a clear error for anything else."""
    try:
        sizes = [int(part) for part in str(text).replace(" ", "").split(",")] if str(text) \
            else []
    except ValueError:
        raise ArchitectureError(
            f"layers must be comma-separated integers such as 784,120,40; got {text!r}"
        ) from None
    return sizes


def check_layers(sizes, classes: int, redundancy: int) -> list[int]:
    """Validate layer sizes for a classifier with ``classes`` groups of ``redundancy`` outputs."""
    sizes = [int(n) for n in sizes]
    if len(sizes) < 3:
        raise ArchitectureError(
            f"a network needs an input, at least one hidden and an output layer "
            f"(e.g. 784,120,40); got layers={sizes}"
        )
    if min(sizes) < 1:
        raise ArchitectureError(f"every layer needs at least one unit; got layers={sizes}")
    if classes < 2 or redundancy < 1:
        raise ArchitectureError(
            f"need classes >= 2 and redundancy >= 1; got classes={classes}, redundancy={redundancy}"
        )
    if sizes[-1] != classes * redundancy:
        raise ArchitectureError(
            f"the output layer must have classes * redundancy = {classes} * {redundancy} = "
            f"{classes * redundancy} units; got {sizes[-1]} (layers={sizes}). "
            f"Change the last layer size or the redundancy."
        )
    return sizes


@dataclass
class Network:
    """An L-layer Ising network classifier.

    ``W[l]``: ``(n_l, n_{l-1})`` float32; ``b[l]``: ``(n_l,)`` float32, for ``l = 1..L``.
    """

    sizes: list[int]
    classes: int = 10
    redundancy: int = 4
    W: list = field(default_factory=list)
    b: list = field(default_factory=list)

    def __post_init__(self):
        self.sizes = check_layers(self.sizes, self.classes, self.redundancy)
        if not self.W:
            self.W = [None] + [np.zeros((self.sizes[l], self.sizes[l - 1]), DTYPE)
                               for l in range(1, len(self.sizes))]
            self.b = [None] + [np.zeros(self.sizes[l], DTYPE) for l in range(1, len(self.sizes))]

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def random(cls, sizes, rng: np.random.Generator, classes=10, redundancy=4, init_scale=None):
        """The paper's initialisation: ``W^l`` uniform in ``±s_l/sqrt(n_{l-1})``, biases zero.

        ``init_scale`` is an optional per-coupling-layer factor ``s_l`` (list of L floats,
        default all 1, the paper's).
        """
        net = cls(list(sizes), classes=classes, redundancy=redundancy)
        scales = [1.0] * net.depth if init_scale is None else [float(s) for s in init_scale]
        if len(scales) != net.depth:
            raise ArchitectureError(
                f"init_scale needs one factor per coupling layer ({net.depth}); got {len(scales)}"
            )
        for l in range(1, net.depth + 1):
            bound = scales[l - 1] / np.sqrt(net.sizes[l - 1])
            net.W[l] = rng.uniform(-bound, bound, size=net.W[l].shape).astype(DTYPE)
        return net

    @property
    def depth(self) -> int:
        """L, the number of coupling layers (= spin layers)."""
        return len(self.sizes) - 1

    @property
    def blocks(self) -> list[tuple[int, int]]:
        """The two-layer blocks ``(l, l+1)`` for ``l = 1..L-1``."""
        return [(l, l + 1) for l in range(1, self.depth)]

    def copy(self) -> "Network":
        return Network(list(self.sizes), self.classes, self.redundancy,
                       [None] + [w.copy() for w in self.W[1:]],
                       [None] + [v.copy() for v in self.b[1:]])

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter array by name: ``W1, b1, W2, b2, ...``."""
        out = {}
        for l in range(1, self.depth + 1):
            out[f"W{l}"] = self.W[l]
            out[f"b{l}"] = self.b[l]
        return out

    # ---- physics -----------------------------------------------------------------------
    def targets(self, y) -> np.ndarray:
        """Nudge patterns ``n[y]``: +1 on the ``redundancy`` units of class y, -1 elsewhere.

        ``y``: int or ``(batch,)`` ints -> ``(n_L,)`` or ``(batch, n_L)`` float32.
        """
        y = np.asarray(y)
        groups = np.arange(self.sizes[-1]) // self.redundancy
        return np.where(groups == y[..., None], 1.0, -1.0).astype(DTYPE)

    def field(self, l: int, states: list, x: np.ndarray) -> np.ndarray:
        """Local field ``f^l = W^l s^(l-1) + b^l + (W^(l+1))^T s^(l+1)`` of layer l.

        ``states[k]``: ``(..., n_k)`` spins of layer k (index 0 unused); ``x``: ``(..., n_0)``.
        """
        below = x if l == 1 else states[l - 1]
        f = below @ self.W[l].T + self.b[l]
        if l < self.depth:
            f = f + states[l + 1] @ self.W[l + 1]
        return f

    def energy(self, states: list, x: np.ndarray) -> np.ndarray:
        """``E(s; x)`` for states ``[None, s^1, ..., s^L]`` with leading batch dimensions."""
        e = 0.0
        for l in range(1, self.depth + 1):
            below = x if l == 1 else states[l - 1]
            e = e - np.einsum("...i,...i->...", states[l], below @ self.W[l].T + self.b[l])
        return e

    def feedforward(self, x: np.ndarray) -> list:
        """``[None, s^1, ..., s^L]``: each layer the sign of its field from the layer below only.

        ``x``: ``(..., n_0)``. Ties (a zero field) go to +1.
        """
        states = [None]
        below = x
        for l in range(1, self.depth + 1):
            below = spin_sign(below @ self.W[l].T + self.b[l])
            states.append(below)
        return states

    def clamped_descent(self, x: np.ndarray, output: np.ndarray) -> list:
        """The output clamped to ``output`` and each lower layer, top-down, set to the sign of
        its field (docs/how-it-works.md §3: the nudged state with the strong nudge, and reference
        states).

        Layers below the top one see their lower neighbour's feed-forward value. ``x``:
        ``(..., n_0)``; ``output``: ``(..., n_L)``; leading dimensions broadcast, so
        ``x[:, None]`` with ``output`` of shape ``(C, n_L)`` gives ``(B, C, n_l)`` states.
        """
        states = self.feedforward(x)
        lead = np.broadcast_shapes(states[self.depth].shape[:-1], np.shape(output)[:-1])
        states[self.depth] = np.broadcast_to(output, lead + np.shape(output)[-1:]).astype(DTYPE)
        for l in range(self.depth - 1, 0, -1):
            states[l] = spin_sign(self.field(l, states, x))
        return states

    def class_scores(self, output: np.ndarray) -> np.ndarray:
        """``(..., n_L)`` output spins -> ``(..., classes)`` sums of each redundancy group."""
        shape = output.shape[:-1] + (self.classes, self.redundancy)
        return output.reshape(shape).sum(axis=-1)

    def predict_output(self, output: np.ndarray) -> np.ndarray:
        """Class of each output pattern; ``-1`` where no single group has the largest sum."""
        scores = self.class_scores(output)
        best = scores.argmax(axis=-1)
        top = scores.max(axis=-1, keepdims=True)
        unique = (scores == top).sum(axis=-1) == 1
        return np.where(unique, best, -1)

    # ---- graph model -------------------------------------------------------------------
    def graph(self) -> nx.Graph:
        """The network as a networkx graph of units.

        Nodes ``(l, i)`` with attribute ``layer`` (and ``kind``: ``input`` / ``spin``); edges
        between adjacent layers with attribute ``weight`` = ``W[l][i, j]``.
        """
        g = nx.Graph()
        for l, n in enumerate(self.sizes):
            kind = "input" if l == 0 else "spin"
            for i in range(n):
                attrs = {"layer": l, "kind": kind}
                if l > 0:
                    attrs["bias"] = float(self.b[l][i])
                g.add_node((l, i), **attrs)
        for l in range(1, self.depth + 1):
            W = self.W[l].tolist()
            g.add_weighted_edges_from(((l, i), (l - 1, j), W[i][j])
                                      for i in range(self.sizes[l])
                                      for j in range(self.sizes[l - 1]))
        return g

    def layer_graph(self) -> nx.DiGraph:
        """The coarse graph of layers: nodes ``l`` with ``size`` and ``kind``; edges ``l-1 -> l``
        with the coupling name; a graph attribute ``blocks`` listing the two-layer blocks."""
        g = nx.DiGraph(blocks=self.blocks)
        for l, n in enumerate(self.sizes):
            g.add_node(l, size=n, kind="input" if l == 0 else ("output" if l == self.depth else "hidden"))
        for l in range(1, self.depth + 1):
            g.add_edge(l - 1, l, coupling=f"W{l}", shape=self.W[l].shape)
        return g


def spin_sign(f: np.ndarray) -> np.ndarray:
    """Zero-temperature spin of a field: +1 where ``f >= 0``, -1 elsewhere (float32)."""
    return np.where(f >= 0, DTYPE(1), DTYPE(-1))
