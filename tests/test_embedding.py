"""Embeddings of blocks K(a, b): finding, verifying, caching, tiling, the committed store."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from minorminer.utils import verify_embedding as mm_verify

import layersweep.embedding as embedding
from layersweep.embedding import cache as cache_module, find, tiles
from layersweep.embedding import (EmbeddingCache, block_embedding, check_fits,
                                  find_block_embedding, tile_embeddings)
from layersweep.exceptions import (ArchitectureError, BlockTooLargeError, CacheError,
                                   EmbeddingError)
from layersweep.topology import parse_topology, remove_random_qubits, target_from_graph

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "embeddings"
COMMITTED = sorted(STORE.glob("*.json"))


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path, monkeypatch):
    """Nothing a test does may write into the repository's embeddings/."""
    monkeypatch.setenv(embedding.ENV_VAR, str(tmp_path / "default-cache"))


@pytest.fixture
def cache(tmp_path):
    return EmbeddingCache(tmp_path / "cache")


def _no_search(*args, **kwargs):
    raise AssertionError("searched although it should not have")


def _assert_valid(chains, a, b, target):
    assert sorted(chains) == list(range(a + b))
    mm_verify(chains, nx.complete_bipartite_graph(a, b), target.graph)


# ---------------------------------------------------------------- finding


@pytest.mark.parametrize("spec", ["zephyr:4", "pegasus:5"])
def test_find_biclique_embedding_is_valid(spec):
    target = parse_topology(spec)
    emb = find_block_embedding(24, 8, target)
    _assert_valid(emb.chains, 24, 8, target)
    assert emb.method == "busclique-biclique"
    assert emb.fingerprint == target.fingerprint
    assert emb.qubits == sum(map(len, emb.chains.values()))


def test_unbalanced_block_beats_busclique_cut_down(tmp_path, monkeypatch):
    """busclique's own find_biclique_embedding cuts a balanced biclique down; we do not."""
    from minorminer import busclique

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # busclique's disk cache goes there
    target = parse_topology("zephyr:4")
    theirs = busclique.busgraph_cache(target.graph).find_biclique_embedding(40, 8)
    ours = find_block_embedding(40, 8, target)
    assert ours.max_chain <= max(map(len, theirs.values()))
    assert ours.qubits < sum(map(len, theirs.values()))  # 64 against 144


def test_find_embedding_fallback_on_plain_graph():
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    target = target_from_graph(graph, name="grid")
    emb = find_block_embedding(3, 2, target, timeout=5, seed=3)
    assert emb.method == "find_embedding"
    _assert_valid(emb.chains, 3, 2, target)


def test_verify_embedding_names_the_problem():
    target = parse_topology("zephyr:2")
    with pytest.raises(EmbeddingError, match="MissingChainError"):
        embedding.verify_embedding({0: (0,)}, 1, 1, target)


@pytest.mark.parametrize("seed", [-1, 2**31, 1.0])
def test_bad_seed(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        find_block_embedding(2, 2, "zephyr:2", seed=seed)


# ---------------------------------------------------------------- too large


def test_too_large_refused_by_counting_without_a_search(monkeypatch):
    monkeypatch.setattr(find.minorminer, "find_embedding", _no_search)
    with pytest.raises(BlockTooLargeError, match=r"largest K\(n,1000\)|K\(1,1000\)"):
        check_fits(1000, 1000, "zephyr:4")


def test_too_large_refused_before_find_embedding(monkeypatch, cache):
    monkeypatch.setattr(find.minorminer, "find_embedding", _no_search)
    with pytest.raises(BlockTooLargeError, match=r"K\(60,60\) does not fit.*largest K\(n,60\)"
                                                 r" that fits is K\(\d+,60\)"):
        block_embedding(60, 60, "zephyr:4", cache=cache)
    assert not cache.path.exists() or not list(cache.path.glob("*.json"))


def test_too_large_on_plain_graph():
    target = target_from_graph(nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4)))
    with pytest.raises(BlockTooLargeError, match="counting bound"):
        check_fits(10, 10, target)


def test_fitting_block_passes_check():
    check_fits(24, 8, "zephyr:4")


# ---------------------------------------------------------------- cache


def test_cache_round_trip_and_hit(cache):
    target = parse_topology("zephyr:4")
    first = block_embedding(24, 8, target, cache=cache)
    assert first.source == "computed"
    files = list(cache.path.glob("*.json"))
    assert [f.name for f in files] == [cache.filename(24, 8, target)]
    second = block_embedding(24, 8, target, cache=cache)
    assert second.source == str(files[0])
    assert second.chains == first.chains and second.method == first.method
    doc = json.loads(files[0].read_text())
    assert doc["format_version"] == embedding.FORMAT_VERSION
    assert doc["stats"]["max_chain"] == first.max_chain
    assert {"minorminer", "dwave-graphs", "layersweep"} <= set(doc["versions"])


def test_default_cache_follows_environment(tmp_path):
    assert EmbeddingCache.default().path == tmp_path / "default-cache"
    emb = block_embedding(8, 4, "zephyr:2")
    assert Path(block_embedding(8, 4, "zephyr:2").source).parent == tmp_path / "default-cache"
    assert emb.source == "computed"


def test_a_checkout_reads_its_committed_store_and_writes_the_users_cache(monkeypatch,
                                                                          tmp_path):
    """New embeddings never land in the repository's embeddings/ (the committed store)."""
    monkeypatch.delenv(embedding.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    default = EmbeddingCache.default()
    assert default.path == tmp_path / "xdg" / "layersweep" / "embeddings"
    assert default.read_only[0] == STORE
    before = {p.name: p.read_bytes() for p in STORE.iterdir()}
    found = block_embedding(8, 4, "zephyr:2")
    assert found.source == "computed"
    assert [p.parent for p in default.path.glob("*.json")] == [default.path]
    assert {p.name: p.read_bytes() for p in STORE.iterdir()} == before
    # a committed entry is read from the store, not copied
    assert Path(block_embedding(120, 40, "pegasus:16").source).parent == STORE
    assert {p.name: p.read_bytes() for p in STORE.iterdir()} == before


def test_default_cache_when_installed(monkeypatch, tmp_path):
    """From a wheel: per-user cache first, then <prefix>/share/layersweep/embeddings."""
    monkeypatch.delenv(embedding.ENV_VAR)
    monkeypatch.setattr(cache_module, "_checkout_store", lambda: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    share = tmp_path / "prefix" / "share" / "layersweep" / "embeddings"
    share.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    default = EmbeddingCache.default()
    assert default.path == tmp_path / "xdg" / "layersweep" / "embeddings"
    assert default.read_only == [share]


def test_lookup_searches_read_only_store_after_cache(tmp_path):
    target = parse_topology("zephyr:2")
    committed = EmbeddingCache(tmp_path / "committed")
    committed.put(find_block_embedding(8, 4, target))
    user = EmbeddingCache(tmp_path / "user", read_only=[tmp_path / "committed"])
    hit = user.get(8, 4, target)
    assert hit is not None and Path(hit.source).parent == tmp_path / "committed"
    assert not (tmp_path / "user").exists()
    assert [item.store for item in user.list()] == ["committed"]


def _stored(cache, spec="zephyr:2", a=8, b=4):
    target = parse_topology(spec)
    block_embedding(a, b, target, cache=cache)
    return target, cache.path / cache.filename(a, b, target)


def test_corrupt_file_refused(cache):
    target, path = _stored(cache)
    path.write_text(path.read_text()[:200])
    with pytest.raises(CacheError, match=f"{path.name}.*cannot be read as JSON"):
        block_embedding(8, 4, target, cache=cache)


def test_edited_chains_refused(cache):
    target, path = _stored(cache)
    doc = json.loads(path.read_text())
    doc["chains"][0], doc["chains"][1] = doc["chains"][1], doc["chains"][0]
    path.write_text(json.dumps(doc))
    with pytest.raises(CacheError, match="checksum"):
        block_embedding(8, 4, target, cache=cache)


def test_foreign_file_refused(cache):
    target, path = _stored(cache, "zephyr:2")
    other = parse_topology("zephyr:2,2")
    shutil.copy(path, cache.path / cache.filename(8, 4, other))
    with pytest.raises(CacheError, match="foreign"):
        block_embedding(8, 4, other, cache=cache)


@pytest.mark.parametrize("change, message", [
    ({"format_version": 99}, "format version 99"),
    ({"format": "something-else"}, "not a layersweep embedding file"),
])
def test_wrong_format_refused(cache, change, message):
    target, path = _stored(cache)
    doc = json.loads(path.read_text())
    doc.update(change)
    path.write_text(json.dumps(doc))
    with pytest.raises(CacheError, match=message):
        cache.get(8, 4, target)


def test_list_reports_bad_files_without_raising(cache):
    _, path = _stored(cache)
    (cache.path / "junk.json").write_text("[]")
    listing = cache.list()
    assert [(i.path.name, i.entry is None) for i in listing] == [("junk.json", True),
                                                                 (path.name, False)]
    assert "not a layersweep embedding file" in listing[0].error


def test_clear(cache):
    _stored(cache)
    assert cache.clear() == 1
    assert cache.list() == []


def test_entry_of_other_working_graph_is_reverified(cache, monkeypatch):
    ideal = parse_topology("zephyr:4")
    emb = block_embedding(24, 8, ideal, cache=cache)
    used = {q for c in emb.chains.values() for q in c}
    spare = next(q for q in ideal.graph if q not in used)
    damaged = ideal.without([spare])
    monkeypatch.setattr(find, "_search", _no_search)
    adopted = block_embedding(24, 8, damaged, cache=cache)
    assert adopted.fingerprint == damaged.fingerprint
    assert adopted.origin.startswith("re-verified")
    _assert_valid(adopted.chains, 24, 8, damaged)
    assert cache.get(24, 8, damaged) is not None


def test_entry_invalid_on_working_graph_is_recomputed(cache):
    ideal = parse_topology("zephyr:4")
    emb = block_embedding(24, 8, ideal, cache=cache)
    damaged = ideal.without(emb.chains[0][:1])
    fresh = block_embedding(24, 8, damaged, cache=cache)
    assert fresh.origin == "computed"
    _assert_valid(fresh.chains, 24, 8, damaged)


def test_cached_lookup_reads_the_entry_and_never_searches(cache, monkeypatch):
    """A cached K(120,40) on pegasus:16 is served from its file (its speed, ~3 ms, is measured
    by experiments/bench_embedding.py, not asserted here)."""
    committed = next(STORE.glob("pegasus16-*-K120x40.json"))
    cache.path.mkdir(parents=True)
    shutil.copy(committed, cache.path / committed.name)
    monkeypatch.setattr(find, "_search", _no_search)
    target = parse_topology("pegasus:16")
    hit = block_embedding(120, 40, target, cache=cache)
    assert hit.source == str(cache.path / committed.name)
    assert hit.qubits <= 906 and hit.max_chain <= 11


_WRITER = """
import json, sys
from layersweep.embedding import EmbeddingCache
from layersweep.embedding.cache import _from_json
from pathlib import Path
doc = json.loads(Path(sys.argv[2]).read_text())
cache = EmbeddingCache(sys.argv[1])
emb = _from_json(doc, Path(sys.argv[2]))
for i in range(int(sys.argv[3])):
    cache.put(emb)
"""


def test_concurrent_writers_leave_a_valid_cache(tmp_path, cache):
    target = parse_topology("zephyr:4")
    emb = find_block_embedding(24, 8, target)
    docs = []
    for k, e in enumerate([emb, find_block_embedding(16, 8, target)]):
        path = tmp_path / f"entry{k}.json"
        path.write_text(json.dumps(cache_module._to_json(e)))
        docs.append(path)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(cache.path), str(docs[k % 2]),
                               "25"], env=env) for k in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    listing = cache.list()
    assert len(listing) == 2 and all(item.entry is not None for item in listing)
    assert not [p for p in cache.path.iterdir() if p.name.endswith(".tmp")]
    _assert_valid(cache.get(24, 8, target).chains, 24, 8, target)


# ---------------------------------------------------------------- tiling


def _assert_disjoint_copies(copies, a, b, target):
    for copy in copies:
        _assert_valid(copy, a, b, target)
    qubits = [q for copy in copies for chain in copy.values() for q in chain]
    assert len(qubits) == len(set(qubits))


def test_tiles_are_disjoint_and_cached(cache, monkeypatch):
    target = parse_topology("zephyr:4")
    copies = tile_embeddings(24, 8, target, 3, cache=cache)
    assert len(copies) == 3
    _assert_disjoint_copies(copies, 24, 8, target)
    assert copies[0] == block_embedding(24, 8, target, cache=cache).chains
    monkeypatch.setattr(tiles, "_search_copy", _no_search)
    assert tile_embeddings(24, 8, target, 3, cache=cache) == copies
    assert tile_embeddings(24, 8, target, 2, cache=cache) == copies[:2]


def test_tiles_as_many_as_fit(cache):
    target = parse_topology("zephyr:3")
    copies = tile_embeddings(16, 8, target, cache=cache)
    assert len(copies) >= 2
    _assert_disjoint_copies(copies, 16, 8, target)
    entry = cache.get(16, 8, target)
    assert entry.tiles_complete and len(entry.copies) == len(copies)


def test_tiles_on_damaged_working_graph(cache):
    damaged = remove_random_qubits(parse_topology("zephyr:4"), 0.01, np.random.default_rng(0))
    copies = tile_embeddings(24, 8, damaged, 3, cache=cache)
    assert len(copies) == 3
    _assert_disjoint_copies(copies, 24, 8, damaged)


def test_tiles_on_plain_graph(cache):
    target = target_from_graph(nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 8)))
    copies = tile_embeddings(2, 2, target, 3, cache=cache, timeout=5)
    assert len(copies) == 3
    _assert_disjoint_copies(copies, 2, 2, target)


def test_overlapping_tiles_refused():
    target = parse_topology("zephyr:2")
    emb = find_block_embedding(4, 4, target)
    with pytest.raises(EmbeddingError, match="ChainOverlapError"):
        find._verify_copies([emb.chains, emb.chains], 4, 4, target)


@pytest.mark.slow
def test_k120_40_tiles_on_damaged_zephyr(cache):
    """Acceptance: >= 2 disjoint copies of K(120,40) on zephyr:12,4 with 1% of qubits gone."""
    damaged = remove_random_qubits(parse_topology("zephyr:12,4"), 0.01, np.random.default_rng(0))
    copies = tile_embeddings(120, 40, damaged, 2, cache=cache)
    assert len(copies) == 2
    _assert_disjoint_copies(copies, 120, 40, damaged)


# ---------------------------------------------------------------- acceptance figures


def test_k120_40_on_zephyr_12_4_fresh():
    """Acceptance: <= 680 qubits with max chain <= 8 (busclique's own: 1280)."""
    target = parse_topology("zephyr:12,4")
    emb = find_block_embedding(120, 40, target)
    assert emb.qubits <= 680 and emb.max_chain <= 8
    _assert_valid(emb.chains, 120, 40, target)


@pytest.mark.slow
def test_k120_40_on_pegasus_16_fresh():
    """Acceptance: <= 906 qubits with max chain <= 11 (busclique's own: 1706)."""
    target = parse_topology("pegasus:16")
    emb = find_block_embedding(120, 40, target)
    assert emb.qubits <= 906 and emb.max_chain <= 11
    _assert_valid(emb.chains, 120, 40, target)


# ---------------------------------------------------------------- the committed store

EXPECTED = {(t, blk) for t in ("pegasus16", "zephyr12x4", "zephyr15x4")
            for blk in ((120, 40), (120, 120), (128, 40), (128, 64), (64, 40))}


def test_committed_store_is_complete():
    found = set()
    for path in COMMITTED:
        slug, _, block = path.stem.split("-")
        a, b = map(int, block[1:].split("x"))
        found.add((slug, (a, b)))
    assert EXPECTED <= found


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_embedding_verifies(path):
    entry = EmbeddingCache._read(path)
    spec = f"{entry.target['family']}:{','.join(map(str, entry.target['shape']))}"
    target = parse_topology(spec)
    assert entry.fingerprint == target.fingerprint
    assert path.name == EmbeddingCache(STORE).filename(entry.a, entry.b, target)
    mm_verify(entry.chains, nx.complete_bipartite_graph(entry.a, entry.b), target.graph)
    find._verify_copies(entry.copies, entry.a, entry.b, target)


@pytest.mark.parametrize("spec, qubits, chain", [("pegasus:16", 906, 11),
                                                 ("zephyr:12,4", 680, 8)])
def test_committed_k120_40_meets_acceptance(spec, qubits, chain):
    target = parse_topology(spec)
    entry = EmbeddingCache(STORE).get(120, 40, target)
    assert entry is not None
    assert entry.qubits <= qubits and entry.max_chain <= chain
    assert len(entry.copies) >= 2


def test_committed_block_that_does_not_fit():
    """K(256,128) fits none of the three targets; the refusal names the largest K(n,128)."""
    with pytest.raises(BlockTooLargeError, match=r"largest K\(n,128\) that fits is K\(184,128\)"):
        find_block_embedding(256, 128, "zephyr:12,4")
