"""Embeddings of blocks K(a, b) onto annealer graphs: find, verify, cache, tile.

A block (l, l+1) of a network is the complete bipartite graph K(a, b) with a = n_l and
b = n_{l+1}. Block-local spin labels follow busclique's biclique convention: the left side
(layer l) is ``0..a-1``, the right side (layer l+1) is ``a..a+b-1``. An embedding maps each spin
to a chain (a tuple of qubits) of the target graph (:class:`layersweep.topology.Target`).

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

Every embedding is verified with minorminer's ``verify_embedding`` against the exact target
graph before it is returned or stored.

Caching (:class:`EmbeddingCache`): one JSON file per (target fingerprint, a, b), written
atomically under an inter-process lock. :func:`block_embedding` looks up, re-verifies an entry
found for another working graph of the same lattice, or searches and stores.

Tiling (:func:`tile_embeddings`): disjoint copies of one block, found greedily: each copy is
searched for (busclique on lattices) on the target minus the qubits of the copies placed so far,
so it works around missing qubits where translated copies of one embedding would not.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import fasteners
import minorminer
import networkx as nx
from minorminer import busclique
from minorminer.utils import diagnose_embedding, is_valid_embedding

from layersweep.exceptions import (BlockTooLargeError, CacheError,
                                   EmbeddingError)
from layersweep.topology import Target, parse_topology, resolve_target

__all__ = ["BlockEmbedding", "EmbeddingCache", "block_embedding", "find_block_embedding",
           "tile_embeddings", "check_fits", "verify_embedding", "ENV_VAR",
           "FORMAT_VERSION", "DEFAULT_TIMEOUT"]

ENV_VAR = "LAYERSWEEP_EMBEDDINGS"
FORMAT = "layersweep-embedding"
FORMAT_VERSION = 1
DEFAULT_TIMEOUT = 60.0
"""Seconds ``minorminer.find_embedding`` may spend on one block (busclique needs no limit)."""

Chains = dict[int, tuple[int, ...]]


# --------------------------------------------------------------------------------------------
# Blocks and verification


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


# --------------------------------------------------------------------------------------------
# The embedding record


@dataclass(frozen=True)
class BlockEmbedding:
    """An embedding of the block K(a, b), verified against the target it was made for.

    Attributes:
        a, b: block shape; spins ``0..a-1`` are layer l, ``a..a+b-1`` layer l+1.
        chains: ``{spin: (qubit, ...)}`` for all ``a + b`` spins.
        method: ``"busclique-biclique"``, ``"find_embedding"`` or ``"busclique-clique"``.
        seed: the seed the method was run with.
        seconds: search time.
        target: ``Target.summary()`` of the graph it was verified on (name, fingerprint, ...).
        source: ``"computed"``, or the cache file it was read from.
        origin: ``"computed"``, or the cache file of another working graph it was re-verified from.
        tiles: further disjoint copies of the block (``chains`` is the first copy).
        tiles_complete: True when no further copy fits beside ``chains`` and ``tiles``.
        versions: library versions that produced it.
        created: UTC time stamp (ISO 8601).
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


# --------------------------------------------------------------------------------------------
# Capacity: quick refusal of blocks that cannot fit


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


# --------------------------------------------------------------------------------------------
# Finding


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

    Args:
        a, b: block sizes (layer l, layer l+1).
        target: anything :func:`layersweep.topology.resolve_target` accepts.
        timeout: seconds ``find_embedding`` may take (only used when busclique fails).
        seed: seed of busclique and find_embedding, in ``[0, 2**31)``.

    Raises:
        BlockTooLargeError: the block cannot fit: by counting, before any search; on a
            lattice, as soon as busclique's table shows it (:func:`check_fits`), before
            ``find_embedding`` could start a long search.
        EmbeddingError: no embedding found within ``timeout``.
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


def _adopt(entry: BlockEmbedding, target: Target) -> BlockEmbedding | None:
    """``entry`` (made for another graph of the same lattice) if its chains are valid on
    ``target``, relabelled as verified for ``target``; otherwise ``None``."""
    if not is_valid_embedding(entry.chains, source_graph(entry.a, entry.b), target.graph):
        return None
    return dataclasses.replace(entry, target=target.summary(), source="computed", tiles=(),
                               tiles_complete=False,
                               origin=f"re-verified {Path(entry.source).name}")


def block_embedding(a: int, b: int, target, *, cache: EmbeddingCache | None = None,
                    timeout: float = DEFAULT_TIMEOUT, seed: int = 0) -> BlockEmbedding:
    """The embedding of K(a, b) on ``target``: from the cache, or found, verified and stored.

    Order: the entry for this exact graph (fingerprint); else an entry of another working graph
    of the same lattice (e.g. the committed defect-free ``pegasus:16``) whose chains minorminer
    verifies on this graph; else :func:`find_block_embedding`. Found or re-verified embeddings
    are stored so that the next lookup is a single file read (~1 ms).

    Args:
        cache: where to look and store; ``None`` means :meth:`EmbeddingCache.default`.
        target, timeout, seed: as in :func:`find_block_embedding`.
    """
    target = resolve_target(target)
    cache = EmbeddingCache.default() if cache is None else cache
    found = cached_block_embedding(a, b, target, cache)
    if found is None:
        found = find_block_embedding(a, b, target, timeout=timeout, seed=seed)
        cache.put(found)
    return found


def cached_block_embedding(a: int, b: int, target: Target,
                           cache: EmbeddingCache) -> BlockEmbedding | None:
    """The cache's embedding of K(a, b) on ``target`` (its own entry, or a re-verified entry
    of another graph of the lattice, then stored), or ``None``: no search."""
    hit = cache.get(a, b, target)
    if hit is not None:
        try:
            _verify_copies(hit.copies, a, b, target)
        except EmbeddingError as exc:
            raise CacheError(f"{hit.source}: {exc}; the file was edited or damaged after it "
                             f"was verified: delete it and run `layersweep embed` again") from None
        return hit
    for entry in cache.related(a, b, target):
        adopted = _adopt(entry, target)
        if adopted is not None:
            cache.put(adopted)
            return adopted
    return None


def tile_embeddings(a: int, b: int, target, copies: int | None = None, *,
                    cache: EmbeddingCache | None = None, timeout: float = DEFAULT_TIMEOUT,
                    seed: int = 0) -> list[Chains]:
    """Up to ``copies`` pairwise disjoint embeddings of K(a, b) on ``target``.

    ``copies=None`` asks for as many as fit. The first copy is :func:`block_embedding`'s; each
    further copy is searched for on the target minus the qubits already used (busclique routes
    around them and around missing qubits). The copies are verified together and stored in the
    block's cache entry. Fewer than ``copies`` are returned when no more fit.

    Returns:
        list of ``{spin: (qubit, ...)}``, block-local labels as in :func:`block_embedding`.
    """
    if copies is not None and (not isinstance(copies, int) or copies < 1):
        raise ValueError(f"copies must be a positive int or None, got {copies!r}")
    target = resolve_target(target)
    cache = EmbeddingCache.default() if cache is None else cache
    base = block_embedding(a, b, target, cache=cache, timeout=timeout, seed=seed)
    tiled = with_copies(base, target, copies, timeout=timeout, seed=seed)
    if tiled is not base:
        cache.put(tiled)
    return tiled.copies[:copies]


def with_copies(base: BlockEmbedding, target: Target, copies: int | None, *,
                timeout: float = DEFAULT_TIMEOUT, seed: int = 0) -> BlockEmbedding:
    """``base`` with further disjoint copies searched for until it holds ``copies`` (None:
    as many as fit), verified together; ``base`` itself when it needs none. No cache."""
    found = base.copies
    complete = base.tiles_complete
    used = {q for copy in found for chain in copy.values() for q in chain}
    while not complete and (copies is None or len(found) < copies):
        result = _search_copy(base.a, base.b, target.without(used), timeout, seed)
        if result is None:
            complete = True
            break
        found.append(result[0])
        used.update(q for chain in result[0].values() for q in chain)
    if len(found) == len(base.copies) and complete == base.tiles_complete:
        return base
    _verify_copies(found, base.a, base.b, target)
    return dataclasses.replace(base, tiles=tuple(found[1:]), tiles_complete=complete)


# --------------------------------------------------------------------------------------------
# The cache


def _checksum(a: int, b: int, fingerprint: str, copies: list[Chains]) -> str:
    """sha256 over the block, the target fingerprint and every copy's chains."""
    payload = [a, b, fingerprint, [[list(c[v]) for v in range(a + b)] for c in copies]]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


def _to_json(emb: BlockEmbedding) -> dict:
    """The cache-file document of an embedding (see embeddings/README.md)."""
    n = emb.a + emb.b
    doc = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "block": {"a": emb.a, "b": emb.b,
                  "labels": "spins 0..a-1 are layer l, a..a+b-1 are layer l+1"},
        "target": emb.target, "method": emb.method, "seed": emb.seed, "seconds": emb.seconds,
        "origin": emb.origin, "stats": emb.stats(), "versions": emb.versions,
        "created": emb.created,
        "checksum": _checksum(emb.a, emb.b, emb.fingerprint, emb.copies),
        "chains": [list(emb.chains[v]) for v in range(n)],
    }
    if emb.tiles or emb.tiles_complete:
        doc["tiles"] = {"complete": emb.tiles_complete,
                        "copies": [[list(t[v]) for v in range(n)] for t in emb.tiles]}
    return doc


_INT_LIST = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")


def _dumps(doc: dict) -> str:
    """Indented JSON with every list of integers (a chain, a shape) on one line."""
    text = json.dumps(doc, indent=1)
    return _INT_LIST.sub(lambda m: "[" + re.sub(r",\s*", ",", m.group(1)) + "]", text) + "\n"


def _from_json(doc, path: Path) -> BlockEmbedding:
    """Parse a cache document; :class:`CacheError` if it is not a valid one of our format."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CacheError(f"{path} is not a layersweep embedding file; remove it from the "
                         "embedding cache directory")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CacheError(f"{path} has format version {doc.get('format_version')!r}, this "
                         f"layersweep reads version {FORMAT_VERSION}; delete it and run "
                         "`layersweep embed` again")
    try:
        a, b = int(doc["block"]["a"]), int(doc["block"]["b"])
        n = a + b
        to_chains = lambda rows: {v: tuple(int(q) for q in rows[v]) for v in range(n)}  # noqa: E731
        if len(doc["chains"]) != n:
            raise ValueError(f"{len(doc['chains'])} chains for {n} spins")
        chains = to_chains(doc["chains"])
        tiles = doc.get("tiles", {"complete": False, "copies": []})
        tile_chains = tuple(to_chains(t) for t in tiles["copies"])
        emb = BlockEmbedding(a, b, chains, str(doc["method"]), int(doc["seed"]),
                             float(doc["seconds"]), dict(doc["target"]), source=str(path),
                             origin=str(doc.get("origin", "computed")), tiles=tile_chains,
                             tiles_complete=bool(tiles["complete"]),
                             versions=dict(doc.get("versions", {})),
                             created=str(doc.get("created", "")))
        checksum_ok = doc["checksum"] == _checksum(a, b, emb.fingerprint, emb.copies)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CacheError(f"{path} is a corrupt embedding file ({exc!r}); delete it and run "
                         "`layersweep embed` again") from None
    if not checksum_ok:
        raise CacheError(f"{path}: its chains do not match their checksum (the file was edited "
                         "or corrupted); delete it and run `layersweep embed` again")
    return emb


def _slug(family: str | None, shape) -> str:
    """File-name prefix of a lattice: ``pegasus16``, ``zephyr12x4``, or ``graph`` for none."""
    return f"{family}{'x'.join(map(str, shape))}" if family else "graph"


def _entry_name(summary: dict, a: int, b: int) -> str:
    """Cache file name of K(a, b) on the target described by ``Target.summary()``."""
    return (f"{_slug(summary.get('family'), summary.get('shape'))}-"
            f"{summary['fingerprint'][:12]}-K{a}x{b}.json")


def _user_cache_dir() -> Path:
    """Per-user cache folder: ``$XDG_CACHE_HOME/layersweep/embeddings`` or ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "layersweep" / "embeddings"


def _checkout_store() -> Path | None:
    """``embeddings/`` of the source checkout this package runs from, if it does."""
    root = Path(__file__).resolve().parent.parent
    if (root / "setup.cfg").is_file() and (root / "embeddings").is_dir():
        return root / "embeddings"
    return None


def _installed_stores() -> list[Path]:
    """The committed embeddings installed with a wheel: ``<prefix>/share/layersweep/embeddings``
    (``[options.data_files]`` in setup.cfg) for the environment's and the user's prefix."""
    import site

    prefixes = [sys.prefix, site.getuserbase()]
    stores = [Path(p) / "share" / "layersweep" / "embeddings" for p in prefixes]
    return [s for s in dict.fromkeys(stores) if s.is_dir()]


def _verify_on_lattice(entry: BlockEmbedding, lattices: dict) -> None:
    """Verify ``entry``'s chains on its target when that target is a lattice this package
    builds (``lattices``: the graphs built so far, by name); else do nothing."""
    name = entry.target.get("name")
    if not entry.target.get("family") or not name:
        return
    if name not in lattices:
        try:
            lattices[name] = parse_topology(name)
        except (ValueError, TypeError):
            lattices[name] = None
    target = lattices[name]
    if target is None or target.fingerprint != entry.fingerprint:
        return
    try:
        _verify_copies(entry.copies, entry.a, entry.b, target)
    except EmbeddingError as exc:
        raise EmbeddingError(f"{entry.source}: {exc}; delete it and run `layersweep embed` "
                             f"again") from None


@dataclass(frozen=True)
class CacheListing:
    """One file of :meth:`EmbeddingCache.list`: its entry, or why it cannot be read."""

    path: Path
    store: str  # "cache" (writable) or "committed" (read-only)
    entry: BlockEmbedding | None
    error: str | None = None


class EmbeddingCache:
    """A directory of embedding files, plus read-only directories searched after it.

    Files are ``<lattice>-<fingerprint[:12]>-K<a>x<b>.json`` (e.g.
    ``pegasus16-5d2ea85cc1a4-K120x40.json``), one per (target fingerprint, a, b). Writes go to
    ``path`` only: a temporary file, fsync, ``os.replace``, under a ``fasteners`` lock file
    ``path/.lock`` so that concurrent writers never leave a partial file.

    Args:
        path: the writable directory (created on first write).
        read_only: directories searched after ``path`` (e.g. the committed store of an
            installed wheel); never written.
    """

    def __init__(self, path, *, read_only=()):
        self.path = Path(path)
        self.read_only = [Path(p) for p in read_only]

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r}, read_only={[str(p) for p in self.read_only]})"

    @classmethod
    def default(cls) -> EmbeddingCache:
        """The cache layersweep uses unless told otherwise.

        ``$LAYERSWEEP_EMBEDDINGS`` if set; else the per-user cache folder, where new entries
        go, with the committed embeddings searched after it, read-only: the checkout's
        ``embeddings/`` when running from a source checkout, and those installed under
        ``<prefix>/share/layersweep/embeddings``. Nothing is ever written into the package or
        the repository.
        """
        if os.environ.get(ENV_VAR):
            return cls(os.environ[ENV_VAR])
        checkout = _checkout_store()
        return cls(_user_cache_dir(),
                   read_only=([checkout] if checkout is not None else []) + _installed_stores())

    def check_writable(self) -> None:
        """Refuse, before any search, a cache folder that cannot be created or written: a
        regular file in its path, or a folder without write permission."""
        folder = self.path
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        if not folder.is_dir():
            raise CacheError(f"cannot use {str(self.path)!r} as the embedding cache: "
                             f"{str(folder)!r} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CacheError(f"cannot use {str(self.path)!r} as the embedding cache: "
                             f"{str(folder)!r} is not writable")

    @property
    def dirs(self) -> list[Path]:
        """Directories in lookup order."""
        return [self.path, *self.read_only]

    def filename(self, a: int, b: int, target: Target) -> str:
        """Name of the file of K(a, b) on ``target`` (in any of :attr:`dirs`)."""
        return _entry_name(target.summary(), a, b)

    def get(self, a: int, b: int, target) -> BlockEmbedding | None:
        """The entry of K(a, b) for exactly this target graph, or ``None``.

        Checks format, block, fingerprint and the chains' checksum (about 1 ms for K(120,40));
        the chains were verified with minorminer when stored.

        Raises:
            CacheError: the file exists but is corrupt, of another format version, or for
                another graph or block than its name says.
        """
        target = resolve_target(target)
        name = self.filename(a, b, target)
        for directory in self.dirs:
            path = directory / name
            if path.is_file():
                entry = self._read(path)
                if entry.fingerprint != target.fingerprint or (entry.a, entry.b) != (a, b):
                    raise CacheError(
                        f"{path} holds K({entry.a},{entry.b}) for target graph "
                        f"{entry.fingerprint[:12]}... ({entry.target.get('name')}), not "
                        f"K({a},{b}) for {target.name} ({target.fingerprint[:12]}...): refusing "
                        "to use a foreign file; delete it")
                return entry
        return None

    def related(self, a: int, b: int, target):
        """Entries of K(a, b) for other graphs of ``target``'s lattice, defect-free ones first.

        Unverified for ``target``: the caller checks them (see :func:`block_embedding`).
        Unreadable files are skipped with a warning.
        """
        target = resolve_target(target)
        exact = self.filename(a, b, target)
        pattern = f"{_slug(target.family, target.shape)}-*-K{a}x{b}.json"
        paths = [p for d in self.dirs for p in sorted(d.glob(pattern)) if p.name != exact]
        entries = []
        for path in paths:
            try:
                entries.append(self._read(path))
            except CacheError as exc:
                warnings.warn(str(exc), stacklevel=2)
        ideal = target.ideal().fingerprint if target.family else None
        entries.sort(key=lambda e: e.fingerprint != ideal)
        return [e for e in entries if (e.a, e.b) == (a, b)
                and e.target.get("family") == target.family]

    def put(self, embedding: BlockEmbedding) -> Path:
        """Store an entry atomically (replacing the entry of the same graph and block)."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / _entry_name(embedding.target, embedding.a, embedding.b)
        text = _dumps(_to_json(embedding))
        with fasteners.InterProcessLock(str(self.path / ".lock")):
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{path.name}.", suffix=".tmp")
            try:
                os.chmod(tmp, 0o644)  # mkstemp makes it private; cache files are shareable
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return path

    def list(self) -> list[CacheListing]:
        """Every embedding file in lookup order, read and checked: an entry for a lattice
        (``pegasus:16``, ...) has its chains verified with minorminer on that graph, as
        training does; one for another graph (a QPU's working graph) is checked against its
        checksum only. A bad file is listed with its error rather than raising."""
        listing, lattices = [], {}
        for directory in self.dirs:
            store = "cache" if directory == self.path else "committed"
            for path in sorted(directory.glob("*.json")):
                try:
                    entry = self._read(path)
                    _verify_on_lattice(entry, lattices)
                    listing.append(CacheListing(path, store, entry))
                except (CacheError, EmbeddingError) as exc:
                    listing.append(CacheListing(path, store, None, str(exc)))
        return listing

    def clear(self) -> int:
        """Delete the writable directory's embedding files; returns how many."""
        removed = 0
        if not self.path.is_dir():
            return 0
        with fasteners.InterProcessLock(str(self.path / ".lock")):
            for path in self.path.glob("*.json"):
                path.unlink()
                removed += 1
        return removed

    @staticmethod
    def _read(path: Path) -> BlockEmbedding:
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CacheError(f"{path} cannot be read as JSON ({exc}); delete it and run "
                             "`layersweep embed` again") from None
        return _from_json(doc, path)

