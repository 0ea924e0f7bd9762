"""Finding and verifying embeddings of a block K(a, b) on an annealer graph.

Block-local spin labels follow busclique's biclique convention: the left side (layer l) is
``0..a-1``, the right side (layer l+1) is ``a..a+b-1``. An embedding maps each spin to a chain
(a tuple of qubits) of the target graph (:class:`layersweep.topology.Target`).

Finding (:func:`find_block_embedding`), in this order, keeping the best by (max chain length,
total qubits):

1. busclique bicliques (lattice targets only). busclique computes, for one graph, a table of
   native biclique embeddings K(s0, s1) for every size it can place. Its public
   ``find_biclique_embedding(a, b)`` cuts a *balanced* entry down for an unbalanced block
   (K(120, 40) on pegasus:16: 1706 qubits); instead we search the whole table for the entry
   whose ``a`` shortest chains on one side and ``b`` shortest chains on the other cost least
   (906 qubits, same max chain 11).
2. ``minorminer.find_embedding`` with a time limit: the general fallback (any graph).
3. busclique's clique embedding of K(a+b), a last resort on lattices.

Every embedding is verified with minorminer against the exact target graph before it is
returned or stored; :func:`check_fits` says, before any search, when a block cannot fit.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata

import minorminer
import networkx as nx
from minorminer import busclique
from minorminer.utils import diagnose_embedding

from layersweep.exceptions import BlockTooLargeError, EmbeddingError
from layersweep.topology import Target, resolve_target

DEFAULT_TIMEOUT = 60.0
"""Seconds ``minorminer.find_embedding`` may spend on one block (busclique needs no limit)."""
Chains = dict[int, tuple[int, ...]]


def source_graph(a: int, b: int) -> nx.Graph:
    """K(a, b) with block-local labels: left ``0..a-1``, right ``a..a+b-1``."""
    return nx.complete_bipartite_graph(a, b)


def verify_embedding(chains: Chains, a: int, b: int, target: Target) -> None:
    """Raise :class:`EmbeddingError` unless ``chains`` embed K(a, b) in ``target.graph``.

    minorminer's ``diagnose_embedding`` does the checking; the message lists its first findings.
    """
    problems = []
    for problem in diagnose_embedding(chains, source_graph(a, b), target.graph):
        problems.append(f"{problem[0].__name__}{problem[1:]}")
        if len(problems) == 3:
            break
    if problems:
        raise EmbeddingError(f"embedding of K({a},{b}) is invalid on {target.name}: "
                             + "; ".join(problems))


def _verify_copies(copies: list[Chains], a: int, b: int, target: Target) -> None:
    """Raise :class:`EmbeddingError` unless ``copies`` are valid and pairwise disjoint.

    The copies are checked as one embedding of ``len(copies)`` disjoint K(a, b)s, so minorminer
    reports a qubit used twice as a ``ChainOverlapError``.
    """
    n = a + b
    union = nx.disjoint_union_all([source_graph(a, b)] * len(copies))
    chains = {k * n + v: chain for k, copy in enumerate(copies) for v, chain in copy.items()}
    for problem in diagnose_embedding(chains, union, target.graph):
        raise EmbeddingError(f"{len(copies)} copies of K({a},{b}) are not valid disjoint "
                             f"embeddings on {target.name}: {problem[0].__name__}{problem[1:]}")


@dataclass(frozen=True)
class BlockEmbedding:
    """An embedding of the block K(a, b), verified against the target it was made for.

    Attributes
    ----------
    a, b
        block shape; spins ``0..a-1`` are layer l, ``a..a+b-1`` layer l+1.
    chains
        ``{spin: (qubit, ...)}`` for all ``a + b`` spins.
    method
        ``"busclique-biclique"``, ``"find_embedding"`` or ``"busclique-clique"``.
    seed
        the seed the method was run with.
    seconds
        search time.
    target
        ``Target.summary()`` of the graph it was verified on (name, fingerprint, ...).
    source
        ``"computed"``, or the cache file it was read from.
    origin
        ``"computed"``, or the cache file of another working graph it was re-verified from.
    tiles
        further disjoint copies of the block (``chains`` is the first copy).
    tiles_complete
        True when no further copy fits beside ``chains`` and ``tiles``.
    versions
        library versions that produced it.
    created
        UTC time stamp (ISO 8601).
    """

    a: int
    b: int
    chains: Chains
    method: str
    seed: int
    seconds: float
    target: dict
    source: str = "computed"
    origin: str = "computed"
    tiles: tuple[Chains, ...] = ()
    tiles_complete: bool = False
    versions: dict = field(default_factory=dict)
    created: str = ""

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the target graph the chains were verified on."""
        return self.target["fingerprint"]

    @property
    def qubits(self) -> int:
        """Total number of qubits of one copy."""
        return sum(len(c) for c in self.chains.values())

    @property
    def max_chain(self) -> int:
        """Length of the longest chain."""
        return max(len(c) for c in self.chains.values())

    @property
    def mean_chain(self) -> float:
        """Mean chain length (qubits per spin)."""
        return self.qubits / len(self.chains)

    @property
    def copies(self) -> list[Chains]:
        """All known disjoint copies, this one first."""
        return [self.chains, *self.tiles]

    def stats(self) -> dict:
        """Chain statistics: qubits, max/mean/min chain length, known copies."""
        lengths = [len(c) for c in self.chains.values()]
        return {"qubits": sum(lengths), "max_chain": max(lengths),
                "mean_chain": round(sum(lengths) / len(lengths), 4), "min_chain": min(lengths),
                "copies": len(self.copies)}


def _versions() -> dict:
    """Versions of the libraries an embedding depends on, for the cache file."""
    from layersweep import __version__

    found = {"layersweep": __version__, "python": sys.version.split()[0]}
    for dist in ("minorminer", "dwave-graphs", "networkx"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    return found


_capacities: dict[tuple[str, int], dict[int, int]] = {}


def _capacity_of_table(raw: dict) -> dict[int, int]:
    """``{x: largest y}`` such that the busclique table holds a K(x, y) (either orientation)."""
    best: dict[int, int] = {}
    for s0, s1 in raw:
        best[s0] = max(best.get(s0, 0), s1)
        best[s1] = max(best.get(s1, 0), s0)
    capacity, running = {}, 0
    for x in range(max(best, default=0), 0, -1):  # K(x, y) fits => K(x', y) fits for x' < x
        running = max(running, best.get(x, 0))
        capacity[x] = running
    return capacity


def _biclique_capacity(target: Target, seed: int = 0) -> dict[int, int]:
    """Memoised capacity of a lattice target (computing it costs one busclique table)."""
    key = (target.fingerprint, seed)
    if key not in _capacities:
        _biclique_table(target, seed)
    return _capacities[key]


def _counting_bound(a: int, b: int, graph: nx.Graph) -> str | None:
    """Why K(a, b) cannot be a minor of ``graph`` by counting, or ``None`` if it might be.

    A tree chain of L qubits of degree <= d touches at most L(d-2)+2 other qubits, so a spin
    with k neighbours needs L >= (k-2)/(d-2); every logical edge needs its own coupler, and a
    chain of L qubits uses L-1 couplers inside it.
    """
    qubits, couplers = graph.number_of_nodes(), graph.number_of_edges()
    degree = max((d for _, d in graph.degree), default=0)
    if a + b > qubits:
        return f"it has {a + b} spins and the graph has {qubits} qubits"
    if degree <= 2:
        return None if max(a, b) <= 1 else f"the graph's qubits have at most {degree} couplers"
    min_chain = lambda k: max(1, math.ceil((k - 2) / (degree - 2)))  # noqa: E731
    needed = a * min_chain(b) + b * min_chain(a)
    if needed > qubits:
        return f"its chains need at least {needed} qubits and the graph has {qubits}"
    if a * b + needed - (a + b) > couplers:
        return f"it needs at least {a * b + needed - a - b} couplers and the graph has {couplers}"
    return None


def _largest_by_counting(a: int, b: int, graph: nx.Graph) -> int:
    """Largest n < a such that K(n, b) passes :func:`_counting_bound` (bisection; 0 if none)."""
    low, high = 0, a  # K(low, b) passes (or low == 0), K(high, b) fails
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if _counting_bound(mid, b, graph) is None else (low, mid)
    return low


def check_fits(a: int, b: int, target) -> None:
    """Raise :class:`BlockTooLargeError` quickly when K(a, b) cannot be embedded on ``target``.

    First counting bounds (instant); then, for a lattice, busclique's table of native biclique
    embeddings of the defect-free lattice (a few seconds, memoised per process). The message
    names the largest K(n, b) that fits. It never starts ``find_embedding``.
    """
    target = resolve_target(target)
    if a < 1 or b < 1:
        raise BlockTooLargeError(f"a block K(a, b) needs a, b >= 1, got K({a},{b})")
    reason = _counting_bound(a, b, target.graph)
    if target.family is None:
        if reason:
            largest = _largest_by_counting(a, b, target.graph)
            raise BlockTooLargeError(f"K({a},{b}) does not fit on {target.name}: {reason}; "
                                     f"at most K({largest},{b}) can fit (counting bound)")
        return
    capacity = _biclique_capacity(target.ideal())
    if reason or capacity.get(a, 0) < b:
        largest = max((x for x, y in capacity.items() if y >= b), default=0)
        balanced = max((x for x, y in capacity.items() if y >= x), default=0)
        fitting = (f"the largest K(n,{b}) that fits is K({largest},{b})" if largest else
                   f"not even K(1,{b}) fits; the largest balanced block is "
                   f"K({balanced},{balanced})")
        why = reason or "busclique places no such biclique on the defect-free lattice"
        raise BlockTooLargeError(f"K({a},{b}) does not fit on {target.lattice}: {why}; "
                                 f"{fitting}. Use smaller layers or a larger topology.")


def _busgraph(target: Target, seed: int):
    """busclique's graph object for a lattice target.

    We use the private per-family class rather than ``busclique.busgraph_cache`` because we
    need the whole biclique table (``busgraph_cache.find_biclique_embedding`` cuts an
    unbalanced block from a balanced entry), and ``busgraph_cache`` would pickle that table
    (38 MB for pegasus:16) into the user's home for every working graph we search, including
    each shrinking graph of :func:`tile_embeddings`; our own cache keeps only what we use.
    """
    classes = {"pegasus": busclique._pegasus_busgraph, "zephyr": busclique._zephyr_busgraph,
               "chimera": busclique._chimera_busgraph}
    return classes[target.family](target.graph, seed=seed)


def _biclique_table(target: Target, seed: int) -> dict:
    """busclique's raw biclique table ``{(s0, s1): [chain, ...]}`` (first s0 chains one side).

    Costs ~6 s and ~0.8 GB briefly for pegasus:16, ~1 s for zephyr:12,4; records the
    target's capacity for :func:`check_fits` as a by-product. Not kept in memory.
    """
    table = _busgraph(target, seed).bicliques()["raw"]
    _capacities[(target.fingerprint, seed)] = _capacity_of_table(table)
    return table


def _best_biclique(table: dict, a: int, b: int) -> Chains | None:
    """Cheapest K(a, b) in a biclique table: for every entry K(s0, s1) with room for the block
    (either orientation), keep the a shortest chains of one side and the b shortest of the
    other; minimise (max chain length, total qubits)."""
    best_key, best = None, None
    for (s0, _), emb in table.items():
        sides = (emb[:s0], emb[s0:])
        for left, right in (sides, sides[::-1]):
            if len(left) < a or len(right) < b:
                continue
            left = sorted(left, key=len)[:a]
            right = sorted(right, key=len)[:b]
            chains = left + right
            key = (max(map(len, chains)), sum(map(len, chains)))
            if best_key is None or key < best_key:
                best_key, best = key, chains
    return None if best is None else _as_chains(dict(enumerate(best)))


def _as_chains(found: dict) -> Chains:
    """minorminer's ``{spin: [qubit, ...]}`` as ``{spin: (int, ...)}``."""
    return {int(v): tuple(int(q) for q in chain) for v, chain in found.items()}


def _search(a: int, b: int, target: Target, timeout: float,
            seed: int) -> tuple[Chains, str] | None:
    """Chains of K(a, b) on ``target`` and the method that found them, or ``None``.

    busclique bicliques on lattices; when they fail, :func:`check_fits` (which may raise
    :class:`BlockTooLargeError`) before ``find_embedding`` within ``timeout`` seconds, then
    busclique's clique on lattices (see the module docstring). Not verified here.
    """
    if target.family is not None:
        chains = _best_biclique(_biclique_table(target, seed), a, b)
        if chains:
            return chains, "busclique-biclique"
        check_fits(a, b, target)  # the table just computed is its capacity if target is ideal
    found = minorminer.find_embedding(source_graph(a, b), target.graph, timeout=timeout,
                                      random_seed=seed)
    if found:
        return _as_chains(found), "find_embedding"
    if target.family is not None:
        found = busclique.find_clique_embedding(a + b, target.graph, seed=seed, use_cache=False)
        if found:
            return _as_chains(found), "busclique-clique"
    return None


def _search_copy(a: int, b: int, rest: Target, timeout: float,
                 seed: int) -> tuple[Chains, str] | None:
    """One more copy on what is left of a target: busclique only on a lattice (find_embedding
    would spend its whole time limit proving the leftovers full), find_embedding otherwise."""
    if _counting_bound(a, b, rest.graph) is not None:
        return None
    if rest.family is not None:
        chains = _best_biclique(_biclique_table(rest, seed), a, b)
        return (chains, "busclique-biclique") if chains else None
    found = minorminer.find_embedding(source_graph(a, b), rest.graph, timeout=timeout,
                                      random_seed=seed)
    return (_as_chains(found), "find_embedding") if found else None


def _check_seed(seed) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**31:
        raise ValueError(f"seed must lie in [0, 2**31), got {seed}")
    return seed


def find_block_embedding(a: int, b: int, target, *, timeout: float = DEFAULT_TIMEOUT,
                         seed: int = 0) -> BlockEmbedding:
    """Search (no cache) for an embedding of K(a, b) on ``target`` and verify it.

    Parameters
    ----------
    a, b
        block sizes (layer l, layer l+1).
    target
        anything :func:`layersweep.topology.resolve_target` accepts.
    timeout
        seconds ``find_embedding`` may take (only used when busclique fails).
    seed
        seed of busclique and find_embedding, in ``[0, 2**31)``.

    Raises
    ------
    BlockTooLargeError
        the block cannot fit: by counting, before any search; on a
        lattice, as soon as busclique's table shows it (:func:`check_fits`), before
        ``find_embedding`` could start a long search.
    EmbeddingError
        no embedding found within ``timeout``.
    """
    target = resolve_target(target)
    seed = _check_seed(seed)
    reason = _counting_bound(a, b, target.graph)
    if reason is not None:
        check_fits(a, b, target)  # raises, naming the largest K(n, b) that fits
    start = time.perf_counter()
    found = _search(a, b, target, timeout, seed)
    seconds = time.perf_counter() - start
    if found is None:
        raise EmbeddingError(f"no embedding of K({a},{b}) found on {target.name} within "
                             f"{timeout:g} s; try a longer timeout or another seed")
    chains, method = found
    verify_embedding(chains, a, b, target)
    return BlockEmbedding(a, b, chains, method, seed, round(seconds, 3), target.summary(),
                          versions=_versions(),
                          created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
