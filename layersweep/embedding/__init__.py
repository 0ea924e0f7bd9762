"""Embeddings of blocks K(a, b) onto annealer graphs.

A block (l, l+1) of a network is the complete bipartite graph K(a, b) with a = n_l and
b = n_{l+1}. :mod:`.find` finds and verifies an embedding, :mod:`.cache` stores verified ones
on disk and looks them up, :mod:`.tiles` places disjoint copies of a block.
"""

from .cache import (ENV_VAR, FORMAT_VERSION, CacheListing, EmbeddingCache, block_embedding,
                    cached_block_embedding)
from .find import (DEFAULT_TIMEOUT, BlockEmbedding, check_fits, find_block_embedding,
                   verify_embedding)
from .tiles import tile_embeddings, with_copies

__all__ = ["BlockEmbedding", "CacheListing", "EmbeddingCache", "block_embedding",
           "cached_block_embedding", "find_block_embedding", "tile_embeddings", "with_copies",
           "check_fits", "verify_embedding", "ENV_VAR", "FORMAT_VERSION", "DEFAULT_TIMEOUT"]
