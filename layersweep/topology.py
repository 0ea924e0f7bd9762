"""Target graphs for embeddings: a QPU topology by name, a sampler's working graph, or a file.

A :class:`Target` is an integer-labelled ``networkx.Graph`` of qubits and couplers together with
what is known about its lattice (family and shape), which decides whether minorminer's
``busclique`` can work on it. Three ways to get one:

* by name: ``"pegasus:16"`` (Advantage), ``"zephyr:12,4"`` (Advantage2 class), ``"zephyr:12"``
  (``t = 4``), ``"chimera:16"``; any shape;
* from a structured dimod sampler (a QPU or ``MockDWaveSampler``): its working graph, with its
  missing qubits and couplers;
* from a file: JSON ``{"nodes": [...], "edges": [[u, v], ...], "topology": {"type": ...,
  "shape": [...]}}`` (``topology`` optional) or a networkx edge list, one ``u v`` per line.

Every target has a fingerprint, the sha256 of its sorted node and edge lists, which keys the
embedding cache: an embedding found for one working graph is never used on another one unseen.

This is the only module that imports ``dwave.graphs`` (dwave-networkx is being renamed).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import dwave.graphs
import networkx as nx
import numpy as np

from layersweep.exceptions import EmbeddingError

__all__ = ["Target", "parse_topology", "target_from_sampler", "target_from_file",
           "target_from_graph", "resolve_target", "fingerprint", "lattice_graph",
           "remove_random_qubits"]

# family -> (generator, number of shape parameters it accepts, default trailing parameters)
#: the largest lattice built from a name: far beyond any annealer, small enough to build
MAX_QUBITS = 1_000_000
_FAMILIES = {
    "pegasus": (dwave.graphs.pegasus_graph, 1, ()),
    "zephyr": (dwave.graphs.zephyr_graph, 2, (4,)),
    "chimera": (dwave.graphs.chimera_graph, 3, ()),
}


@dataclass(eq=False)
class Target:
    """A target graph for embeddings.

    Attributes
    ----------
    name
        what the user asked for, e.g. ``"pegasus:16"`` or ``"pegasus:16 working graph of
        Advantage_system4.1"``; for messages and cache listings only.
    graph
        qubits (``int``) and couplers. For a lattice target it is a ``dwave.graphs``
        graph (``graph.graph['family']`` etc. set), possibly with qubits missing.
    family
        ``"pegasus"``, ``"zephyr"``, ``"chimera"`` or ``None`` for an arbitrary graph.
    shape
        the lattice parameters, e.g. ``(16,)`` or ``(12, 4)``; ``None`` with no family.
    """

    name: str
    graph: nx.Graph = field(repr=False)
    family: str | None = None
    shape: tuple[int, ...] | None = None

    @cached_property
    def fingerprint(self) -> str:
        """sha256 (hex) of the sorted node and edge lists; see :func:`fingerprint`."""
        return fingerprint(self.graph)

    @property
    def lattice(self) -> str | None:
        """``"pegasus:16"``-style name of the lattice, or ``None`` for an arbitrary graph."""
        if self.family is None:
            return None
        return f"{self.family}:{','.join(map(str, self.shape))}"

    @property
    def is_ideal(self) -> bool:
        """True for a lattice target with no qubit or coupler missing."""
        return self.family is not None and self.fingerprint == self.ideal().fingerprint

    def ideal(self) -> Target:
        """The defect-free lattice of the same family and shape (itself if it is one)."""
        if self.family is None:
            raise EmbeddingError(f"target {self.name!r} is not a lattice; it has no ideal form")
        return _ideal(self.family, self.shape)

    def without(self, qubits) -> Target:
        """This target with ``qubits`` removed (for placing disjoint copies one at a time)."""
        removed = set(qubits)
        nodes = [q for q in self.graph if q not in removed]
        edges = [(u, v) for u, v in self.graph.edges if u not in removed and v not in removed]
        name = f"{self.name} minus {len(removed)} qubits"
        if self.family is None:
            graph = nx.Graph()
            graph.add_nodes_from(nodes)
            graph.add_edges_from(edges)
            return Target(name, graph)
        return Target(name, lattice_graph(self.family, self.shape, nodes, edges),
                      self.family, self.shape)

    def summary(self) -> dict:
        """JSON-ready description: name, lattice family and shape, fingerprint, sizes."""
        return {"name": self.name, "family": self.family,
                "shape": list(self.shape) if self.shape else None,
                "fingerprint": self.fingerprint,
                "qubits": self.graph.number_of_nodes(),
                "couplers": self.graph.number_of_edges()}


def fingerprint(graph: nx.Graph) -> str:
    """sha256 (hex) of a graph's sorted node list and sorted edge list.

    The hashed text is the compact JSON ``[[n0, n1, ...], [[u, v], ...]]`` with nodes sorted,
    each edge written ``u < v`` and the edges sorted, so it depends neither on insertion order
    nor on edge direction. Labels must be integers (qubit indices).
    """
    try:
        nodes = sorted(int(q) for q in graph.nodes)
        edges = sorted((min(int(u), int(v)), max(int(u), int(v))) for u, v in graph.edges)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"target graph nodes must be integer qubit indices ({exc})") from None
    text = json.dumps([nodes, edges], separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def lattice_graph(family: str, shape, nodes=None, edges=None) -> nx.Graph:
    """A ``dwave.graphs`` lattice graph, with linear integer labels.

    Parameters
    ----------
    family
        ``"pegasus"``, ``"zephyr"`` or ``"chimera"``.
    shape
        its parameters, ``(m,)`` for Pegasus, ``(m, t)`` for Zephyr, ``(m[, n[, t]])``
        for Chimera.
    nodes, edges
        the working graph's qubits and couplers (``None``: all of them).
    """
    generator = _FAMILIES[family][0]
    try:
        return generator(*shape, node_list=nodes, edge_list=edges)
    except (ValueError, TypeError) as exc:
        raise EmbeddingError(f"cannot build a {family} graph of shape {tuple(shape)}: "
                             f"{exc}") from None


_ideal_targets: dict[tuple, Target] = {}


def _ideal(family: str, shape: tuple[int, ...]) -> Target:
    """The defect-free lattice, memoised (building pegasus:16 and its fingerprint takes ~0.2 s)."""
    key = (family, tuple(shape))
    if key not in _ideal_targets:
        name = f"{family}:{','.join(map(str, shape))}"
        _ideal_targets[key] = Target(name, lattice_graph(family, shape), family, tuple(shape))
    return _ideal_targets[key]


def parse_topology(spec: str) -> Target:
    """The defect-free target named by ``spec``.

    ``"pegasus:16"``, ``"zephyr:12,4"``, ``"zephyr:12"`` (t = 4), ``"chimera:16"`` or
    ``"chimera:16,16,4"``. Raises :class:`EmbeddingError` naming the accepted forms.
    """
    family, _, params = spec.strip().lower().partition(":")
    if family not in _FAMILIES or not params:
        raise EmbeddingError(
            f"topology {spec!r} not understood: use FAMILY:SHAPE, e.g. 'pegasus:16', "
            f"'zephyr:12,4' or 'zephyr:12' (families: {', '.join(_FAMILIES)}), or a graph file")
    _, max_params, defaults = _FAMILIES[family]
    try:
        shape = [int(p) for p in params.split(",")]
    except ValueError:
        raise EmbeddingError(f"topology {spec!r}: shape must be comma-separated integers") from None
    if not 1 <= len(shape) <= max_params or min(shape) < 1:
        raise EmbeddingError(f"topology {spec!r}: {family} takes 1 to {max_params} positive "
                             f"shape parameters")
    if family == "zephyr" and len(shape) == 1:
        shape += list(defaults)
    if _qubits(family, shape) > MAX_QUBITS:
        raise EmbeddingError(f"topology {spec!r} has about {_qubits(family, shape):,} qubits, "
                             f"more than the {MAX_QUBITS:,} this builds (an Advantage QPU is "
                             f"pegasus:16, 5640 qubits; an Advantage2 zephyr:12,4, 4800)")
    return _ideal(family, tuple(shape))


def _qubits(family: str, shape: list) -> int:
    """Qubits of the defect-free lattice ``family`` of ``shape`` (dwave-graphs' counts)."""
    if family == "pegasus":
        return 24 * shape[0] * (shape[0] - 1)
    if family == "zephyr":
        m, t = shape[0], shape[1] if len(shape) > 1 else 4
        return 4 * t * m * (2 * m + 1)
    m = shape[0]
    n = shape[1] if len(shape) > 1 else m
    t = shape[2] if len(shape) > 2 else 4
    return 2 * t * m * n


def target_from_graph(graph: nx.Graph, name: str = "graph") -> Target:
    """A target from a networkx graph; a ``dwave.graphs`` lattice keeps its family and shape."""
    family = graph.graph.get("family")
    if family in _FAMILIES and graph.graph.get("labels", "int") == "int":
        shape = _shape_of(family, graph.graph)
        nodes, edges = list(graph.nodes), list(graph.edges)
        return Target(name, lattice_graph(family, shape, nodes, edges), family, shape)
    plain = nx.Graph()
    plain.add_nodes_from(graph.nodes)
    plain.add_edges_from(graph.edges)
    fingerprint(plain)  # rejects non-integer labels now rather than at the first lookup
    return Target(name, plain)


def _shape_of(family: str, data: dict) -> tuple[int, ...]:
    """Lattice shape from a ``dwave.graphs`` graph's ``graph`` attribute dict."""
    if family == "pegasus":
        return (data["rows"],)
    if family == "zephyr":
        return (data["rows"], data["tile"])
    return (data["rows"], data["columns"], data["tile"])


def target_from_sampler(sampler) -> Target:
    """The working graph of a structured dimod sampler (a QPU, ``MockDWaveSampler``, ...).

    Uses ``sampler.properties['topology']`` (type and shape) when present so that busclique can
    work on it, and the sampler's ``nodelist``/``edgelist`` (or ``to_networkx_graph()``).
    """
    properties = getattr(sampler, "properties", {}) or {}
    chip = properties.get("chip_id")
    topology = properties.get("topology") or {}
    if hasattr(sampler, "nodelist") and hasattr(sampler, "edgelist"):
        nodes, edges = list(sampler.nodelist), list(sampler.edgelist)
    elif hasattr(sampler, "to_networkx_graph"):
        graph = sampler.to_networkx_graph()
        nodes, edges = list(graph.nodes), list(graph.edges)
    else:
        raise EmbeddingError(f"{type(sampler).__name__} is not a structured sampler: it has "
                             "neither nodelist/edgelist nor to_networkx_graph()")
    family, shape = topology.get("type"), topology.get("shape")
    label = f" of {chip}" if chip else ""
    if family in _FAMILIES and shape:
        shape = tuple(int(s) for s in shape)
        name = f"{family}:{','.join(map(str, shape))} working graph{label}"
        return Target(name, lattice_graph(family, shape, nodes, edges), family, shape)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return target_from_graph(graph, name=f"working graph{label}")


def target_from_file(path) -> Target:
    """A target read from a JSON node/edge list (``.json``) or a networkx edge list (else).

    JSON: ``{"nodes": [0, 1, ...], "edges": [[0, 1], ...], "topology": {"type": "pegasus",
    "shape": [16]}}``; ``nodes`` defaults to the edges' end points, ``topology`` is optional
    (without it busclique cannot be used and embedding falls back to ``find_embedding``).
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            edges = [tuple(map(int, e)) for e in data["edges"]]
            nodes = [int(q) for q in data.get("nodes", sorted({q for e in edges for q in e}))]
            topology = data.get("topology") or {}
            family, shape = topology.get("type"), topology.get("shape")
        else:
            graph = nx.read_edgelist(path, nodetype=int, data=False)
            nodes, edges, family, shape = list(graph.nodes), list(graph.edges), None, None
    except OSError as exc:
        raise EmbeddingError(f"cannot read target graph file {path}: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(f"target graph file {path} is not a JSON node/edge list with "
                             f"integer qubits nor an integer edge list ({exc!r})") from None
    if family is not None:
        if family not in _FAMILIES or not shape:
            raise EmbeddingError(f"{path}: topology type must be one of {', '.join(_FAMILIES)} "
                                 "with a shape")
        shape = tuple(int(s) for s in shape)
        return Target(path.name, lattice_graph(family, shape, nodes, edges), family, shape)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return Target(path.name, graph)


def resolve_target(spec) -> Target:
    """Any accepted description of a target, as a :class:`Target`.

    ``spec`` is a :class:`Target`, a topology name (``"pegasus:16"``), a path to a graph file,
    a networkx graph, or a structured dimod sampler.
    """
    if isinstance(spec, Target):
        return spec
    if isinstance(spec, nx.Graph):
        return target_from_graph(spec)
    if isinstance(spec, (str, Path)):
        if Path(spec).is_file():
            return target_from_file(spec)
        return parse_topology(str(spec))
    return target_from_sampler(spec)


def remove_random_qubits(target: Target, fraction: float, rng: np.random.Generator) -> Target:
    """``target`` with ``round(fraction * qubits)`` qubits removed at random (a damaged chip).

    For benchmarks and tests of embeddings on imperfect working graphs.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must lie in [0, 1), got {fraction!r}")
    qubits = sorted(target.graph)
    count = round(fraction * len(qubits))
    removed = rng.choice(qubits, size=count, replace=False).tolist()
    damaged = target.without(removed)
    damaged.name = f"{target.name} minus {count} random qubits"
    return damaged
