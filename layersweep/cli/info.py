"""``layersweep info RUN.h5``: what a run file holds, without training anything.

Prints the format, the configuration, where training stands (epoch, position inside the
epoch, updates), the sampler and embeddings, the parameter shapes, the history table and the
file size; ``--json`` prints the same as one JSON object. A corrupt file, or one that is not a
layersweep run file, is an error (exit 2); a readable one whose parameters hold infinite or NaN
values is shown, flagged CORRUPT, with a warning (``evaluate`` and ``--resume`` refuse it).
"""

from __future__ import annotations

import os
import sys

from .. import checkpoint
from .common import emit_json, table


def add_parser(subparsers):
    p = subparsers.add_parser(
        "info", help="show what a run file holds (config, progress, history, parameters)",
        description="Show a run file's configuration, training position, history table, "
                    "parameter shapes and size.")
    p.add_argument("run_file", metavar="RUN.h5", help="a run file written by layersweep train")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


def describe(path) -> dict:
    """Everything ``info`` shows, as plain JSON-ready values."""
    saved = checkpoint.load(path, finite=False)
    net, state, meta = saved["network"], saved["state"], saved["meta"]
    older = []
    k = 1
    while os.path.exists(checkpoint.rotated(path, k)):
        older.append(checkpoint.rotated(path, k))
        k += 1
    return {
        "path": os.fspath(path),
        "bytes": os.path.getsize(path),
        "format": meta.get("format"), "format_version": meta.get("format_version"),
        "layersweep_version": meta.get("layersweep_version"), "created": meta.get("created"),
        "layers": list(net.sizes), "classes": net.classes, "redundancy": net.redundancy,
        "config": saved["config"],
        "epoch": state["epoch"], "position": state["position"],
        "epoch_size": int(len(state["order"])), "steps": state["steps"],
        "averaged_images": state["averaged_images"],
        "sampler": saved["sampler"], "embeddings": saved["embeddings"],
        "parameters": {name: {"shape": list(value.shape), "dtype": str(value.dtype)}
                       for name, value in net.parameters().items()},
        "history": saved["history"],
        "older_checkpoints": older,
        "non_finite": saved["non_finite"],
    }


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def run(args) -> int:
    info = describe(args.run_file)
    if info["non_finite"]:
        print(f"layersweep: warning: {info['path']} is corrupt: {', '.join(info['non_finite'])} "
              f"hold(s) infinite or NaN values", file=sys.stderr)
    if args.json:
        emit_json(info)
        return 0
    config = info["config"]
    print(f"{info['path']}: layersweep run file, format version {info['format_version']}, "
          f"{_size(info['bytes'])}, written {info['created']} by layersweep "
          f"{info['layersweep_version']}")
    print(f"network    {'-'.join(map(str, info['layers']))} ({info['classes']} classes x "
          f"{info['redundancy']} output units)")
    total = config.get("epochs")
    done = f"{info['epoch']} of {total}" if total is not None else str(info["epoch"])
    inside = (f"; inside epoch {info['epoch'] + 1}: {info['position']}/{info['epoch_size']} "
              f"images" if info["epoch_size"] else "")
    print(f"progress   epochs done {done}{inside}; {info['steps']} updates")
    if info["averaged_images"]:
        print(f"predicts   with a moving average of the parameters (/state/averaged): "
              f"over {config.get('average')} images, {info['averaged_images']} seen")
    sampler = info["sampler"]
    if sampler:
        extra = ", ".join(f"{k}={v}" for k, v in sorted(sampler.items()) if k != "name")
        print(f"sampler    {sampler.get('name', '?')}" + (f" ({extra})" if extra else ""))
    embeddings = info["embeddings"]
    print("embeddings " + ("none (CPU sampler)" if not embeddings else "; ".join(
        f"block {block}: " + ", ".join(f"{k}={v}" for k, v in sorted(entry.items()))
        for block, entry in sorted(embeddings.items()))))
    if info["non_finite"]:
        print(f"CORRUPT    {', '.join(info['non_finite'])} hold(s) infinite or NaN values: "
              f"evaluate and --resume refuse this file; use an earlier checkpoint")
    if info["older_checkpoints"]:
        print(f"older      {', '.join(info['older_checkpoints'])}")
    print("\nconfig")
    width = max((len(k) for k in config), default=0)
    for key in sorted(set(config) - {"plan"}):
        print(f"  {key.ljust(width)}  {config[key]}")
    stages = (config.get("plan") or {}).get("stages", [])
    if stages:
        print("\nplan")
        for stage in stages:
            first, last = stage["epochs"]
            blocks = ", ".join(f"K({a},{b})" for a, b in stage["blocks"])
            print(f"  {stage['name']:<7} epochs {first}-{last if last else config.get('epochs')}"
                  f"  layers {'-'.join(map(str, stage['layers']))}  blocks {blocks}")
    print("\nparameters")
    for name, p in info["parameters"].items():
        print(f"  {name:<4} {'x'.join(map(str, p['shape'])):>10}  {p['dtype']}")
    history = info["history"]
    print("\nhistory" + ("" if history else ": no epoch finished yet"))
    if history:
        keys = sorted({k for row in history for k in row} - {"epoch", "seconds"})
        columns = [("epoch", "epoch", "{:d}")] + [
            (k, k, "{:d}" if all(isinstance(row.get(k, 0), int) for row in history) else "{:.3f}")
            for k in keys] + [("seconds", "seconds", "{:.1f}")]
        table(history, columns)
    return 0
