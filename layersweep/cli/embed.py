"""``layersweep embed``: fill the embedding cache for an architecture, or list it::

    layersweep embed --topology pegasus:16 [--topology zephyr:12,4 ...] --layers 784,120,40
                     [--tiles N|max] [--cache-dir DIR] [--scheduler processes:4]
    layersweep embed --list [--cache-dir DIR] [--json]

``--topology`` takes a name (``pegasus:16``, ``zephyr:12,4``) or a graph file (see
:mod:`layersweep.topology`), and may be repeated. Every block of the architecture is looked up
on every topology; the searches the cache cannot answer (blocks x topologies) run as tasks of
``--scheduler`` (default: in this process), and what they find is verified and stored here. A
table (or, with ``--json``, one JSON object per block and a summary) reports method, qubits,
chain lengths, copies and time. Blocks that do not fit are reported with the largest K(n, b)
that does, and the command then fails.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from tqdm import tqdm

from layersweep.recipe import Recipe, resolve
from layersweep.embedding import (DEFAULT_TIMEOUT, ENV_VAR, EmbeddingCache,
                                  cached_block_embedding, find_block_embedding, with_copies)
from layersweep.exceptions import BlockTooLargeError, CacheError, EmbeddingError
from layersweep.cli.common import count, layers_arg, real, scheduler_arg
from layersweep.scheduler import make_scheduler
from layersweep.topology import resolve_target


def _tiles(text: str) -> int | None:
    """``--tiles``: a positive number of copies, or ``max`` (``None``: as many as fit)."""
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'max', got {text!r}")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``embed`` subcommand."""
    parser = subparsers.add_parser(
        "embed", help="find, verify and cache embeddings of a network's blocks on a QPU graph",
        description=__doc__.split("\n\n")[0],
        epilog=f"The cache is --cache-dir, else ${ENV_VAR}, else a per-user cache folder, "
               "where new embeddings go; the committed embeddings (embeddings/ of a source "
               "checkout, or those installed with the package) are searched after it, "
               "read-only.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--layers", type=layers_arg, metavar="N0,N1,...",
                      help="layer sizes, input first, e.g. 784,120,40")
    what.add_argument("--list", action="store_true", help="list the cached embeddings")
    parser.add_argument("--topology", metavar="NAME|FILE", action="append",
                        help="target: pegasus:16, zephyr:12,4, zephyr:15,4, ... or a graph file "
                             "(JSON node/edge list or edge list); required with --layers; "
                             "repeat it for several targets")
    parser.add_argument("--tiles", type=_tiles, default=1, metavar="N|max",
                        help="also find N disjoint copies of each block (default 1)")
    parser.add_argument("--cache-dir", metavar="DIR", help="embedding cache directory")
    parser.add_argument("--timeout", type=real(0, open_low=True), default=DEFAULT_TIMEOUT,
                        metavar="SECONDS",
                        help="time limit of find_embedding when busclique fails "
                             "(default %(default)g)")
    parser.add_argument("--seed", type=count(0), default=0, help="search seed (default 0)")
    parser.add_argument("--scheduler", default="local", type=scheduler_arg,
                        help="where searches run: local (default), processes[:N] (a Dask "
                             "LocalCluster) or a Dask scheduler address tcp://host:8786")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per block (or cache file), then a summary")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run ``layersweep embed``; returns the exit code."""
    if args.cache_dir is not None and not args.cache_dir.strip():
        raise CacheError("--cache-dir is empty: give a folder")
    cache = EmbeddingCache(args.cache_dir) if args.cache_dir else EmbeddingCache.default()
    if args.list:
        if args.topology:
            raise EmbeddingError("embed --list lists every cached embedding; --topology goes "
                                 "with --layers")
        if cache.path.exists() and not cache.path.is_dir():
            raise CacheError(f"cannot list {str(cache.path)!r}: it is a file, not a folder")
        return _list(cache, args.json)
    if not args.topology:
        raise EmbeddingError("embed --layers needs --topology, e.g. --topology pegasus:16 or a "
                             "graph file")
    cache.check_writable()
    return _fill(cache, args)


def _fill(cache: EmbeddingCache, args) -> int:
    """Embed every block of ``args.layers`` on every ``args.topology``; report; fail on
    misfits. Cache lookups run here; searches run on ``args.scheduler``; stores run here."""
    targets = [resolve_target(spec) for spec in args.topology]
    blocks = resolve(Recipe(), args.layers).blocks  # the greedy stage's block too
    jobs = [(target, a, b) for target in targets for a, b in blocks]
    results, misses = {}, []
    for job in jobs:
        start = time.perf_counter()
        hit = cached_block_embedding(job[1], job[2], job[0], cache)
        if hit is None:
            misses.append(job)
        else:
            results[job] = (hit, time.perf_counter() - start)
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(misses), desc="embedding",
               unit="block", file=sys.stderr, disable=None)
    copies = None if args.tiles is None else args.tiles
    with make_scheduler(args.scheduler) as scheduler:
        handles = {id(t): scheduler.put(t) for t in {id(j[0]): j[0] for j in misses}.values()}

        def searched(k, result):
            bar.update()
            target, a, b = misses[k]
            if not isinstance(result[0], Exception):
                cache.put(result[0])
            results[misses[k]] = result

        scheduler.map(_search_task, [(a, b, handles[id(t)], args.timeout, args.seed)
                                     for t, a, b in misses], on_result=searched)
        bar.close()
        tiling = [job for job in jobs
                  if args.tiles != 1 and not isinstance(results[job][0], Exception)]
        if tiling:
            handles = {id(t): scheduler.put(t) for t in {id(j[0]): j[0] for j in tiling}.values()}

            def tiled(k, result):
                base, seconds = results[tiling[k]]
                if result[0] is not base:
                    cache.put(result[0])
                results[tiling[k]] = (result[0], seconds + result[1])

            scheduler.map(_tile_task, [(results[job][0], handles[id(job[0])], copies,
                                        args.timeout, args.seed) for job in tiling],
                          on_result=tiled)
    rows, misfits = {}, []
    for target in targets:
        rows[target.name] = []
        for a, b in blocks:
            emb, seconds = results[(target, a, b)]
            if isinstance(emb, Exception):
                misfits.append(str(emb))
                rows[target.name].append({"topology": target.name, "block": [a, b],
                                          "status": "too large", "message": str(emb)})
                continue
            computed = emb.source == "computed"
            rows[target.name].append({
                "topology": target.name, "block": [a, b], "status": "ok", "method": emb.method,
                "qubits": emb.qubits, "max_chain": emb.max_chain,
                "mean_chain": round(emb.mean_chain, 2), "copies": len(emb.copies),
                "seconds": round(seconds, 3), "search_seconds": emb.seconds,
                "source": "computed" if computed else "cache", "origin": emb.origin,
                "file": str(cache.path / cache.filename(a, b, target)) if computed
                else emb.source})
    every = [row for name in rows for row in rows[name]]
    summary = {"topologies": [t.name for t in targets],
               "fingerprints": [t.fingerprint for t in targets],
               "layers": args.layers, "blocks": len(every),
               "embedded": sum(r["status"] == "ok" for r in every),
               "too_large": [[r["topology"], r["block"]] for r in every if r["status"] != "ok"],
               "cache": str(cache.path), "scheduler": args.scheduler}
    if args.json:
        for row in every:
            print(json.dumps(row))
        print(json.dumps({"summary": summary}))
    else:
        for target in targets:
            _print_blocks(rows[target.name], target.name, args.tiles)
    if misfits:
        raise BlockTooLargeError("; ".join(misfits))
    return 0


def _search_task(a: int, b: int, target, timeout: float, seed: int):
    """A scheduler task: ``(embedding or BlockTooLargeError, seconds)`` of K(a, b) on
    ``target``, searched without the cache (the caller stores it)."""
    start = time.perf_counter()
    try:
        found = find_block_embedding(a, b, target, timeout=timeout, seed=seed)
    except BlockTooLargeError as exc:
        found = exc
    return found, time.perf_counter() - start


def _tile_task(base, target, copies, timeout: float, seed: int):
    """A scheduler task: ``(base with its disjoint copies, seconds)``."""
    start = time.perf_counter()
    return with_copies(base, target, copies, timeout=timeout, seed=seed), \
        time.perf_counter() - start


def _print_blocks(rows: list[dict], name: str, tiles) -> None:
    """The per-block table of ``embed --layers``."""
    print(f"embeddings on {name}" + ("" if tiles == 1 else
                                     f" ({'max' if tiles is None else tiles} copies asked)"))
    header = ("block", "method", "qubits", "max chain", "mean chain", "copies", "seconds", "source")
    table = [header]
    for r in rows:
        block = f"K({r['block'][0]},{r['block'][1]})"
        if r["status"] != "ok":
            table.append((block, "does not fit", "", "", "", "", "", ""))
            continue
        table.append((block, r["method"], str(r["qubits"]), str(r["max_chain"]),
                      f"{r['mean_chain']:.2f}", str(r["copies"]), f"{r['seconds']:.2f}",
                      r["source"]))
    _print_table(table)
    for r in rows:
        if r["status"] != "ok":
            print(f"  {r['message']}")


def _list(cache: EmbeddingCache, as_json: bool) -> int:
    """``embed --list``: every cache file, readable or not."""
    listing = cache.list()
    if as_json:
        for item in listing:
            row = {"file": str(item.path), "store": item.store}
            if item.entry is None:
                row["error"] = item.error
            else:
                e = item.entry
                row.update(target=e.target.get("name"), fingerprint=e.fingerprint,
                           block=[e.a, e.b], method=e.method, **e.stats())
            print(json.dumps(row))
        print(json.dumps({"summary": {"files": len(listing),
                                      "unreadable": sum(i.entry is None for i in listing),
                                      "dirs": [str(d) for d in cache.dirs]}}))
        return 0
    print("embedding cache: " + ", ".join(str(d) for d in cache.dirs))
    table = [("store", "target", "fingerprint", "block", "method", "qubits", "max chain",
              "copies", "file")]
    for item in listing:
        if item.entry is None:
            table.append((item.store, "unreadable", "", "", "", "", "", "", item.path.name))
            continue
        e = item.entry
        table.append((item.store, str(e.target.get("name")), e.fingerprint[:12],
                      f"K({e.a},{e.b})", e.method, str(e.qubits), str(e.max_chain),
                      str(len(e.copies)), item.path.name))
    _print_table(table)
    for item in listing:
        if item.entry is None:
            print(f"  {item.error}")
    if not listing:
        print("  (empty)")
    return 0


def _print_table(rows: list[tuple]) -> None:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
