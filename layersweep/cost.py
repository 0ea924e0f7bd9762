"""The QPU cost of a planned run, priced offline (``layersweep train --dry-run``).

The calls are not modelled: one epoch of every stage of the run's plan (the greedy stage's, if
any, and the net's) is driven through the real training step against a
:class:`~layersweep.samplers.counting.CountingSampler`, on the run's own training data and
initial network, so the count follows the step whatever it does. Each recorded call is then
packed onto the block's disjoint embeddings as the QPU sampler packs it
(:func:`~layersweep.samplers.timing.pack_problems`) and priced with D-Wave's published timing
model (:func:`~layersweep.samplers.timing.access_time`). Nothing is sent; evaluation runs on
the CPU and costs nothing.

A QPU merges the reads of a block problem that start from the same state into one problem.
The counts here follow the states of the run's first updates; two cases can make a run's
problems fewer than priced: wrong classes whose reference states come to coincide on a block as
the network changes, and cyclic restarts (``cycles`` > 1) of reads that annealed to the same
state, which this count, annealing nothing, prices as a problem each (an upper bound).
"""

from __future__ import annotations

import numpy as np

from .samplers.counting import CountingSampler
from .samplers.timing import access_time, pack_problems

#: the timing model's name in the report when the solver's own is not at hand
PUBLISHED = "D-Wave published problem_timing_data (Advantage_system4.1, 2022)"


def count_calls(model, X: np.ndarray, y: np.ndarray) -> list:
    """``[(stage, calls)]``: the sampler calls (:class:`~layersweep.samplers.counting.Call`)
    of one training epoch of each stage of ``model``'s plan on ``X (n, features)``,
    ``y (n,)``; ``model``: an unfitted :class:`~layersweep.estimator.LayerSweepClassifier`
    (its sampler is replaced by the counting one)."""
    counting = CountingSampler()
    twin = type(model)(**{**model.get_params(deep=False), "sampler": counting,
                          "verbose": False})
    classes = int(np.max(y)) + 1
    plan = twin.plan(X.shape[1], classes)
    trainer = twin._make_trainer(X.shape[1], classes)
    counted = []
    for stage in plan.stages:
        trainer.epoch = stage.first - 1
        counting.take()
        trainer.run_epoch(X, y)
        counted.append((stage, counting.take()))
    return counted


def estimate_run(model, X: np.ndarray, y: np.ndarray, topology: str = "pegasus:16",
                 tiles: int | None = None, s_pause: float = 0.7, pause: float = 10.0,
                 ramp: float = 5.0, annealing_time: float = 20.0, timing: dict | None = None,
                 cache=None) -> dict:
    """The QPU cost of training ``model`` on ``X``, ``y`` for its ``epochs``: per stage of
    its plan, the calls, problems, reads and access seconds of one epoch and of the stage,
    tiled (``tiles`` copies of each block per call at most; None: every copy that fits on the
    defect-free ``topology``) and one problem per call. Returns ``{"plan": ...,
    "strategies": [...]}`` (JSON-ready)."""
    from .embedding import tile_embeddings
    from .topology import parse_topology

    target = parse_topology(topology)
    counted = count_calls(model, X, y)
    shapes = list(dict.fromkeys(call.shape for _, calls in counted for call in calls))
    placed = {}
    for a, b in shapes:
        copies = tile_embeddings(a, b, target, tiles, cache=cache)
        placed[(a, b)] = [sum(len(chain) for chain in copy.values()) for copy in copies]
    epochs = model.epochs
    strategies = []
    for tiled in (True, False):
        stages, total_calls, total_seconds = [], 0, 0.0
        for stage, calls in counted:
            n_calls = problems = qpu_reads = 0
            micro = 0.0
            for call in calls:
                qubits = placed[call.shape]
                anneal = (2 * ramp + pause) if call.started else annealing_time
                problems += len(call.jobs)
                for chunk, num_reads in pack_problems(call.jobs, len(qubits) if tiled else 1):
                    micro += access_time(sum(qubits[:len(chunk)]), num_reads, anneal,
                                         call.started, timing)["qpu_access_time"]
                    n_calls += 1
                    qpu_reads += num_reads
            last = epochs if stage.last is None else min(stage.last, epochs)
            span = max(0, last - stage.first + 1)
            stages.append({"stage": stage.name, "epochs": span, "calls_per_epoch": n_calls,
                           "problems_per_epoch": problems, "reads_per_epoch": qpu_reads,
                           "seconds_per_epoch": micro * 1e-6})
            total_calls += n_calls * span
            total_seconds += micro * 1e-6 * span
        strategies.append({"strategy": "tiled" if tiled else "one problem per call",
                           "stages": stages, "calls": total_calls, "seconds": total_seconds})
    plan = model.plan(X.shape[1], int(np.max(y)) + 1)
    report = {
        "layers": list(plan.sizes), "images": len(y), "epochs": epochs,
        "reads": plan.recipe.reads, "batch_size": model.batch_size, "topology": topology,
        "blocks": [{"shape": list(shape), "copies": len(placed[shape]),
                    "qubits_per_copy": placed[shape][0]} for shape in shapes],
        "stages": [{"stage": s.name, "starts": sorted({a.starts for a in s.asks
                                                        if a.kind == "free"})}
                   for s in plan.stages],
        "timing_model": PUBLISHED if timing is None else "the solver's problem_timing_data",
        "anneal_us": {"reverse": 2 * ramp + pause, "forward": annealing_time},
        "s_pause": s_pause}
    return {"plan": report, "strategies": strategies}


_STARTS = {"reference": "reverse anneals from the wrong classes' reference states",
           "random": "forward anneals from random states"}


def format_estimate(estimate: dict) -> str:
    """The dry-run report as text: the plan, then a line per strategy and stage."""
    plan = estimate["plan"]
    lines = [f"QPU dry run (nothing is sent): {'-'.join(map(str, plan['layers']))}, "
             f"{plan['images']} images x {plan['epochs']} epochs, m = {plan['reads']}, "
             f"batch {plan['batch_size']}; timing: {plan['timing_model']}"]
    for block in plan["blocks"]:
        lines.append(f"  topology {plan['topology']}: K({block['shape'][0]},{block['shape'][1]})"
                     f" fits {block['copies']} disjoint copies ({block['qubits_per_copy']} "
                     f"qubits each)")
    for stage in plan["stages"]:
        lines.append(f"  {stage['stage']} stage: free samples by "
                     + " and ".join(_STARTS[s] for s in stage["starts"]))
    lines += ["", f"  {'strategy':<21} {'stage':<8} {'epochs':>6} {'calls/epoch':>11} "
                  f"{'problems/epoch':>14} {'reads/epoch':>11} {'QPU s/epoch':>11}"]
    for s in estimate["strategies"]:
        for stage in s["stages"]:
            lines.append(f"  {s['strategy']:<21} {stage['stage']:<8} {stage['epochs']:>6} "
                         f"{stage['calls_per_epoch']:>11,} {stage['problems_per_epoch']:>14,} "
                         f"{stage['reads_per_epoch']:>11,} {stage['seconds_per_epoch']:>11.1f}")
        lines.append(f"  {s['strategy']:<21} {'run':<8} {plan['epochs']:>6} "
                     f"{s['calls']:>11,} calls, {s['seconds']:,.1f} QPU s in all")
    return "\n".join(lines)
