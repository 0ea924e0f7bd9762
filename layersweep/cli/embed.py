"""``layersweep embed``: fill the embedding cache for an architecture, or list it.

    layersweep embed --topology pegasus:16 --layers 784,120,40 [--tiles N|max] [--cache-dir DIR]
    layersweep embed --list [--cache-dir DIR] [--json]

``--topology`` takes a name (``pegasus:16``, ``zephyr:12,4``) or a graph file (see
:mod:`layersweep.topology`). Every block of the architecture is looked up or searched for,
verified and stored; a table (or, with ``--json``, one JSON object per block and a summary)
reports method, qubits, chain lengths, copies and time. Blocks that do not fit are reported
with the largest K(n, b) that does, and the command then fails.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from tqdm import tqdm

from layersweep.embedding import (DEFAULT_TIMEOUT, ENV_VAR, EmbeddingCache, block_embedding,
                                  blocks_of, tile_embeddings)
from layersweep.exceptions import BlockTooLargeError, EmbeddingError
from layersweep.cli.common import layers_arg
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
        epilog=f"The cache is --cache-dir, else ${ENV_VAR}, else embeddings/ of a source "
               "checkout, else a per-user cache folder (committed embeddings of an installed "
               "wheel are searched after it).")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--layers", type=layers_arg, metavar="N0,N1,...",
                      help="layer sizes, input first, e.g. 784,120,40")
    what.add_argument("--list", action="store_true", help="list the cached embeddings")
    parser.add_argument("--topology", metavar="NAME|FILE",
                        help="target: pegasus:16, zephyr:12,4, zephyr:15,4, ... or a graph file "
                             "(JSON node/edge list or edge list); required with --layers")
    parser.add_argument("--tiles", type=_tiles, default=1, metavar="N|max",
                        help="also find N disjoint copies of each block (default 1)")
    parser.add_argument("--cache-dir", metavar="DIR", help="embedding cache directory")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help="time limit of find_embedding when busclique fails "
                             "(default %(default)g)")
    parser.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per block (or cache file), then a summary")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    """Run ``layersweep embed``; returns the exit code."""
    cache = EmbeddingCache(args.cache_dir) if args.cache_dir else EmbeddingCache.default()
    if args.list:
        return _list(cache, args.json)
    if not args.topology:
        raise EmbeddingError("embed --layers needs --topology, e.g. --topology pegasus:16 or a "
                             "graph file")
    return _fill(cache, args)


def _fill(cache: EmbeddingCache, args) -> int:
    """Embed every block of ``args.layers`` on ``args.topology``; report; fail on misfits."""
    target = resolve_target(args.topology)
    blocks = blocks_of(args.layers)
    rows, misfits = [], []
    bar = tqdm(blocks, desc="embedding", unit="block", file=sys.stderr, disable=None)
    for a, b in bar:
        bar.set_postfix_str(f"K({a},{b})")
        start = time.perf_counter()
        try:
            emb = block_embedding(a, b, target, cache=cache, timeout=args.timeout, seed=args.seed)
            copies = len(emb.copies)
            if args.tiles != 1:
                copies = len(tile_embeddings(a, b, target, args.tiles, cache=cache,
                                             timeout=args.timeout, seed=args.seed))
        except BlockTooLargeError as exc:
            misfits.append(str(exc))
            rows.append({"block": [a, b], "status": "too large", "message": str(exc)})
            continue
        rows.append({"block": [a, b], "status": "ok", "method": emb.method,
                     "qubits": emb.qubits, "max_chain": emb.max_chain,
                     "mean_chain": round(emb.mean_chain, 2), "copies": copies,
                     "seconds": round(time.perf_counter() - start, 3),
                     "search_seconds": emb.seconds,
                     "source": "computed" if emb.source == "computed" else "cache",
                     "origin": emb.origin,
                     "file": str(cache.path / cache.filename(a, b, target))
                     if emb.source == "computed" else emb.source})
    bar.close()
    summary = {"topology": target.name, "fingerprint": target.fingerprint,
               "layers": args.layers, "blocks": len(blocks),
               "embedded": sum(r["status"] == "ok" for r in rows),
               "too_large": [r["block"] for r in rows if r["status"] != "ok"],
               "cache": str(cache.path)}
    if args.json:
        for row in rows:
            print(json.dumps(row))
        print(json.dumps({"summary": summary}))
    else:
        _print_blocks(rows, target.name, args.tiles)
    if misfits:
        raise BlockTooLargeError("; ".join(misfits))
    return 0


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
