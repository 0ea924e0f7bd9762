"""Measure the embedding acceptance figures and write them to experiments/results/embedding/.

    python experiments/bench_embedding.py [--fe-timeout 60] [--seed 0] [--out DIR]

1. quality: K(120,40) on pegasus:16, zephyr:12,4, zephyr:15,4 -- qubits and max chain of
   layersweep's search, of busclique's own ``find_biclique_embedding``, and of
   ``minorminer.find_embedding`` with a time limit;
2. lookup: time of a cached lookup of K(120,40) on pegasus:16 (median and best of 200);
3. precompute: every block of 784-120-120-40 on pegasus:16 from an empty cache, in a fresh
   process (so no in-process memo helps);
4. tiles: disjoint copies of K(120,40) on pegasus:16 and zephyr:12,4, defect-free and with 1%
   of qubits removed at random, against ``minorminer.utils.parallel_embeddings``'s sublattice
   method (tile embedding found on the smallest square sublattice that holds it).

Writes ``embedding_bench.csv`` (one row per measurement) and prints a table. Uses temporary
caches only: the committed store and the user's caches are not touched (busclique's own disk
cache is redirected to a temporary directory too).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import minorminer  # noqa: E402
from minorminer import busclique  # noqa: E402
from minorminer.utils.parallel_embeddings import find_sublattice_embeddings  # noqa: E402

from layersweep.embedding import (EmbeddingCache, block_embedding,  # noqa: E402
                                  find_block_embedding, tile_embeddings)
from layersweep.topology import lattice_graph, parse_topology, remove_random_qubits  # noqa: E402

TOPOLOGIES = ["pegasus:16", "zephyr:12,4", "zephyr:15,4"]
FIELDS = ["experiment", "topology", "block", "method", "qubits", "max_chain", "mean_chain",
          "copies", "seconds", "note"]


def _row(experiment, topology, block, method, chains=None, copies="", seconds="", note=""):
    lengths = [len(c) for c in chains.values()] if chains else []
    return {"experiment": experiment, "topology": topology, "block": f"K{block}".replace(" ", ""),
            "method": method, "qubits": sum(lengths) if lengths else "",
            "max_chain": max(lengths) if lengths else "",
            "mean_chain": round(sum(lengths) / len(lengths), 3) if lengths else "",
            "copies": copies, "seconds": round(seconds, 4) if seconds != "" else "", "note": note}


def quality(fe_timeout: float, seed: int) -> list[dict]:
    """K(120,40): ours, busclique's find_biclique_embedding, find_embedding."""
    rows, (a, b) = [], (120, 40)
    for spec in TOPOLOGIES:
        target = parse_topology(spec)
        start = time.perf_counter()
        ours = find_block_embedding(a, b, target, seed=seed)
        rows.append(_row("quality", spec, (a, b), "layersweep " + ours.method, ours.chains,
                         seconds=time.perf_counter() - start))
        start = time.perf_counter()
        theirs = busclique.busgraph_cache(target.graph, seed=seed).find_biclique_embedding(a, b)
        rows.append(_row("quality", spec, (a, b), "busclique find_biclique_embedding", theirs,
                         seconds=time.perf_counter() - start))
        start = time.perf_counter()
        found = minorminer.find_embedding(nx.complete_bipartite_graph(a, b), target.graph,
                                          timeout=fe_timeout, random_seed=seed + 1)
        rows.append(_row("quality", spec, (a, b), f"find_embedding (timeout {fe_timeout:g} s)",
                         found or None, seconds=time.perf_counter() - start,
                         note="" if found else "not found"))
    return rows


def lookup(cache_dir: Path) -> list[dict]:
    """Time of a cached lookup of K(120,40) on pegasus:16 (target built once, as in training)."""
    cache = EmbeddingCache(cache_dir)
    target = parse_topology("pegasus:16")
    block_embedding(120, 40, target, cache=cache)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        hit = block_embedding(120, 40, target, cache=cache)
        times.append(time.perf_counter() - start)
    assert hit.source != "computed"
    note = f"best {min(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms of 200"
    return [_row("cached lookup", "pegasus:16", (120, 40), "block_embedding (cache hit)",
                 hit.chains, seconds=statistics.median(times), note=note)]


_PRECOMPUTE = """
import sys, time
from layersweep.embedding import EmbeddingCache, block_embedding
from layersweep.recipe import Recipe, resolve
cache = EmbeddingCache(sys.argv[1])
start = time.perf_counter()
for a, b in resolve(Recipe(greedy_epochs=0), [784, 120, 120, 40]).blocks:
    block_embedding(a, b, "pegasus:16", cache=cache)
print(time.perf_counter() - start)
"""


def precompute(cache_dir: Path) -> list[dict]:
    """Every block of 784-120-120-40 on pegasus:16 from an empty cache, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PRECOMPUTE, str(cache_dir)], env=env,
                         check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    return [_row("precompute 784-120-120-40", "pegasus:16", (120, 120), "block_embedding x2",
                 copies="", seconds=float(out.split()[-1]),
                 note=f"wall {wall:.1f} s with interpreter start-up and imports")]


def _sublattice_copies(a, b, target, ideal_spec) -> tuple[int, int]:
    """Copies found by minorminer's sublattice method; returns (copies, sublattice size)."""
    family, shape = parse_topology(ideal_spec).family, parse_topology(ideal_spec).shape
    source = nx.complete_bipartite_graph(a, b)
    for m in range(2, shape[0] + 1):
        tile_shape = (m, *shape[1:])
        tile = lattice_graph(family, tile_shape)
        tile_target = parse_topology(f"{family}:{','.join(map(str, tile_shape))}")
        try:
            emb = find_block_embedding(a, b, tile_target)
        except Exception:  # does not fit this sublattice: try a larger one
            continue
        copies = find_sublattice_embeddings(source, target.graph, tile=tile,
                                            tile_embedding=emb.chains, one_to_iterable=True,
                                            max_num_emb=None)
        return len(copies), m
    return 0, 0


def tiles(cache_dir: Path, seed: int) -> list[dict]:
    """Disjoint copies of K(120,40): ours against the sublattice method, full and 1% damaged."""
    rows, (a, b) = [], (120, 40)
    for spec in ["pegasus:16", "zephyr:12,4"]:
        ideal = parse_topology(spec)
        damaged = remove_random_qubits(ideal, 0.01, np.random.default_rng(seed))
        for label, target in [(spec, ideal), (f"{spec} minus 1% qubits", damaged)]:
            cache = EmbeddingCache(cache_dir / f"tiles-{target.fingerprint[:8]}")
            start = time.perf_counter()
            copies = tile_embeddings(a, b, target, None, cache=cache, seed=seed)
            seconds = time.perf_counter() - start
            rows.append(_row("tiles", label, (a, b), "layersweep tile_embeddings", copies[0],
                             copies=len(copies), seconds=seconds, note="as many as fit"))
            start = time.perf_counter()
            count, m = _sublattice_copies(a, b, target, spec)
            rows.append(_row("tiles", label, (a, b), "minorminer find_sublattice_embeddings",
                             copies=count, seconds=time.perf_counter() - start,
                             note=f"tile embedding on a {m}x{m} sublattice"))
    return rows


def _print(rows: list[dict]) -> None:
    columns = ["experiment", "topology", "block", "method", "qubits", "max_chain", "copies",
               "seconds", "note"]
    table = [columns] + [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fe-timeout", type=float, default=60.0,
                        help="find_embedding time limit in seconds (default 60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "embedding")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(tmp / "busclique")  # busclique's own disk cache
        rows = precompute(tmp / "precompute")
        rows += lookup(tmp / "lookup")
        rows += quality(args.fe_timeout, args.seed)
        rows += tiles(tmp, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "embedding_bench.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    _print(rows)
    print(f"written {args.out / 'embedding_bench.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
