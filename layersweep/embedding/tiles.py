"""Disjoint copies ("tiles") of one block on a target graph, so that one QPU call anneals
several problems.

Copies are found greedily: each copy is searched for (busclique on lattices) on the target minus
the qubits of the copies placed so far, so it works around missing qubits where translated
copies of one embedding would not. The copies are verified together and stored in the block's
cache entry.
"""

from __future__ import annotations

import dataclasses

from layersweep.topology import Target, resolve_target

from .cache import EmbeddingCache, block_embedding
from .find import DEFAULT_TIMEOUT, BlockEmbedding, Chains, _search_copy, _verify_copies

def tile_embeddings(a: int, b: int, target, copies: int | None = None, *,
                    cache: EmbeddingCache | None = None, timeout: float = DEFAULT_TIMEOUT,
                    seed: int = 0) -> list[Chains]:
    """Up to ``copies`` pairwise disjoint embeddings of K(a, b) on ``target``.

    ``copies=None`` asks for as many as fit. The first copy is :func:`block_embedding`'s; each
    further copy is searched for on the target minus the qubits already used (busclique routes
    around them and around missing qubits). The copies are verified together and stored in the
    block's cache entry. Fewer than ``copies`` are returned when no more fit.

    Returns
    -------
    list of dict
        ``{spin: (qubit, ...)}`` per copy, block-local labels as in :func:`block_embedding`.
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
