"""``layersweep train``: train a network and write its run file; resume one.

    layersweep train [options] [--out run.h5] [--checkpoint-every N] [--keep K]
    layersweep train --resume run.h5 [--epochs E] [--out other.h5] [--allow-changes ...]

The run file is written atomically after every epoch and, with ``--checkpoint-every N``,
after every N parameter updates; ``--keep K`` keeps the previous K-1 checkpoints as
``run.h5.1`` (newest) .. ``run.h5.<K-1>``. Ctrl-C (SIGINT) or SIGTERM finishes the current
update, writes a checkpoint and exits with code 130 and the command that resumes the run.
``--resume`` continues bit for bit; options that would change the run are refused unless
``--allow-changes`` is given.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
import time

from .. import checkpoint, cost
from .. import run as runs
from ..estimator import LayerSweepClassifier
from ..exceptions import (ArchitectureError, CheckpointError, DivergenceError, SamplerError,
                          SchedulerError)
from ..network import check_layers
from ..recipe import FIELDS
from ..samplers import SAMPLERS, is_qpu_spec, make_sampler
from ..samplers.cloud import dry_run_topology, parse_chain_strength
from .common import (add_data_options, count, emit_json, layers_arg, load_splits, real,
                     scheduler_arg, table)


def _join(values) -> str:
    return ",".join(str(v) for v in values)


class _Given(argparse.Action):
    """A plain ``store`` that also records which options were given on the command line, so
    that ``--resume`` can tell "left at its default" from "explicitly set to the default"."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = set(getattr(namespace, "given", ())) | {self.dest}


def _chain_strength(text: str) -> str:
    """``--chain-strength`` for argparse: checked now, kept as text for the run file."""
    try:
        value = parse_chain_strength(text)
    except SamplerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text if value is not None or text else "utc"


def _sampler_name(text: str) -> str:
    if text in SAMPLERS or text == "statevector" or is_qpu_spec(text):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown sampler {text!r}: use {', '.join(SAMPLERS)}, statevector, dwave, "
        "dwave:SOLVER, mock:pegasus:16 or mock:zephyr:12,4")


def add_parser(subparsers):
    d = LayerSweepClassifier().get_params()
    p = subparsers.add_parser(
        "train", help="train a network (defaults reproduce the paper: 784-120-40, QP, m=20)",
        description="Train an Ising-spin network by active-layer sweeps and write a run file; "
                    "or continue one with --resume.")
    # every plain option records whether it was given (see _Given)
    p.register("action", None, _Given)
    p.register("action", "store", _Given)
    p.add_argument("--layers", default="784,120,40", type=layers_arg,
                   help="layer sizes, input first, output = classes x redundancy (default 784,120,40)")
    p.add_argument("--redundancy", type=count(1), default=d["redundancy"],
                   help="output units per class (default %(default)s)")
    add_data_options(p)
    r = p.add_argument_group("the recipe (how the run trains; see layersweep.recipe.FIELDS)")
    for field in FIELDS.values():
        r.add_argument(field.option, dest=field.name, default=None, type=_field_type(field),
                       choices=field.choices, metavar=field.metavar, help=field.help())
    p.add_argument("--sampler", type=_sampler_name, default=d["sampler"],
                   help="block sampler: numpy (default, the fast CPU annealer), neal, dwave "
                        "(a D-Wave QPU), dwave:SOLVER, mock:pegasus:16 / mock:zephyr:12,4 "
                        "(the QPU path on an offline mock QPU), or statevector (exact quantum "
                        "annealing of blocks up to 20 spins, simulated)")
    p.add_argument("--annealing-time", type=real(0, open_low=True), default=None,
                   metavar="T",
                   help="statevector sampler: the anneal's duration in units of hbar over the "
                        "block's field scale (default 10)")
    q = p.add_argument_group("QPU samplers (dwave, mock:...)")
    q.add_argument("--solver", default=None,
                   help="D-Wave solver: a name, 'zephyr'/'pegasus', or key=value filters such "
                        "as topology__type=zephyr (default: your Ocean configuration's)")
    q.add_argument("--s-pause", type=real(0, 1, open_low=True), default=0.7,
                   help="anneal fraction where reverse anneals pause (default %(default)s)")
    q.add_argument("--chain-strength", default="utc", type=_chain_strength,
                   help="'utc' (Ocean's uniform torque compensation), 'utc:PREFACTOR' or a "
                        "number (default %(default)s)")
    q.add_argument("--tiles", type=count(1), default=None,
                   help="problems per QPU call at most (default: every copy that fits; 1: none)")
    q.add_argument("--dry-run", action="store_true",
                   help="print the planned run's QPU calls and access time, and exit")
    p.add_argument("--sweeps", type=count(1), default=d["sweeps"],
                   help="annealing sweeps per read (default %(default)s)")
    p.add_argument("--reverse-beta", type=real(0, open_low=True), default=d["reverse_beta"],
                   help="inverse temperature, relative to the block's field, at which anneals "
                        "from reference states start (default %(default)s)")
    p.add_argument("--max-block-spins", type=count(2), default=d["max_block_spins"],
                   help="the annealer's capacity: refuse a network with a larger block")
    p.add_argument("--epochs", type=count(1), default=d["epochs"],
                   help="epochs in total, also when resuming (default %(default)s)")
    p.add_argument("--batch-size", type=count(1), default=d["batch_size"],
                   help="images per update (default %(default)s; 1 is the paper's online training)")
    p.add_argument("--seed", type=count(0), default=0,
                   help="the run's one seed, an integer >= 0 (default 0)")
    s = p.add_argument_group("scale-out (Dask)")
    s.add_argument("--scheduler", default="local", type=scheduler_arg,
                   help="where minibatch shards are sampled: local (default, this process), "
                        "processes or processes:N (a Dask LocalCluster), or the address of a "
                        "Dask scheduler, tcp://host:8786; the numbers do not depend on it")
    s.add_argument("--shard-size", type=count(1), default=None, metavar="N",
                   help="images per task within a minibatch (default: the whole minibatch); "
                        "shards have their own seeds, so this changes the run's numbers")
    p.add_argument("--out", default="run.h5",
                   help="run file to write (default run.h5; with --resume, the resumed file); "
                        "an existing run file is never replaced without --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing run file at --out (a file that is not a run file "
                        "is never replaced)")
    p.add_argument("--checkpoint-every", type=count(0), default=0, metavar="N",
                   help="also write the run file every N parameter updates (default 0: only "
                        "after every epoch)")
    p.add_argument("--keep", type=count(1), default=1, metavar="K",
                   help="checkpoints to keep: the previous K-1 survive as OUT.1 (newest) .. "
                        "OUT.<K-1> (default 1)")
    p.add_argument("--resume", metavar="RUN.h5", default=None,
                   help="continue the run in this file where it stopped, with its options; "
                        "--epochs is the total")
    p.add_argument("--allow-changes", action="store_true",
                   help="with --resume: accept options that differ from the run file's "
                        "(the run then no longer reproduces an uninterrupted one)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, no bars")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bar per epoch (default on)")
    p.set_defaults(func=run)
    return p


def _field_type(field):
    """An argparse type for a recipe field: its parse, then its check (a usage error names
    the option and says what it takes)."""
    if field.parse is None:
        return None

    def parse(text):
        try:
            return field.check(field.name, field.parse(text))
        except (ValueError, ArchitectureError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = field.name
    return parse


def config_from_args(args) -> dict:
    """The run's configuration as recorded in its run file (the recipe resolved for the
    architecture: a field left out takes its default for the depth)."""
    return runs.config(
        args.layers, args.redundancy, {name: getattr(args, name) for name in FIELDS
                                       if getattr(args, name) is not None},
        data=args.data, train_size=args.train_size, test_size=args.test_size,
        sampler=args.sampler, sweeps=args.sweeps, reverse_beta=args.reverse_beta,
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        max_block_spins=args.max_block_spins, shard_size=args.shard_size,
        annealing_time=args.annealing_time,
        scheduler=args.scheduler, solver=args.solver, s_pause=args.s_pause,
        chain_strength=args.chain_strength, tiles=args.tiles)


def _sampler(config: dict):
    """The config's sampler: its name, or for a QPU a sampler built with the QPU options (this
    connects to the solver, so that a missing token stops the run before it starts)."""
    if config["sampler"] == "statevector":
        return make_sampler("statevector", annealing_time=config.get("annealing_time"))
    if not is_qpu_spec(config["sampler"]):
        return config["sampler"]
    options = {k: config[k] for k in ("solver", "s_pause", "chain_strength", "tiles")
               if config.get(k) is not None}
    return make_sampler(config["sampler"], **options)


def model_from_config(config: dict, verbose: bool) -> LayerSweepClassifier:
    return runs.estimator(config, sampler=_sampler(config), verbose=verbose)


COLUMNS = [("epoch", "epoch", "{:d}"), ("train_error", "train err", "{:.3f}"),
           ("worst_class", "worst", "{:d}"), ("worst_recall", "its recall", "{:.2f}"),
           ("test_error", "test err", "{:.3f}"), ("free_correct", "free ok", "{:.2f}"),
           ("seconds", "seconds", "{:.1f}")]
#: the sampler's figures, shown when a run records them
SAMPLER_COLUMNS = [("anneals", "anneals", "{:.0f}"),
                   ("marked_probability", "|A_wrong|²", "{:.3f}")]
#: the column that marks a greedy start's epochs (the shallow stage's figures)
GREEDY_COLUMN = ("greedy", "stage", "shallow")


def _resume_config(args, saved: dict) -> tuple[dict, dict]:
    """The resumed run's config and ``{key: (in the file, given)}`` for every run-defining
    option given on the command line with another value than the file's."""
    config = runs.migrate(saved["config"], args.resume)
    given = getattr(args, "given", set())
    for key in ("layers", "redundancy"):  # the given options are resolved for the run's net
        if key not in given:
            setattr(args, key, config[key])
    fresh = config_from_args(args)
    changes = runs.changes(config, fresh, given)
    if changes and not args.allow_changes:
        runs.refuse_changes(args.resume, changes)
    if changes:  # the recipe is resolved anew from the changed options
        fields = {name: (fresh if name in changes else config)[name] for name in FIELDS}
        config.update(runs.config(config["layers"], config["redundancy"], fields,
                                  epochs=config["epochs"]))
        config.update({k: new for k, (_, new) in changes.items() if k not in FIELDS})
    if "epochs" in given:
        config["epochs"] = args.epochs
    config["scheduler"] = args.scheduler  # where the work runs never changes the numbers
    return config, changes


class _StopRequest:
    """SIGINT/SIGTERM handler: the first signal asks training to stop after the current update
    (so the checkpoint is consistent); a second one interrupts at once."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def __call__(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


class _Stopped(Exception):
    """Raised from the training callbacks once a stop was requested and a checkpoint written."""


def run(args) -> int:
    given = getattr(args, "given", set())
    if args.allow_changes and not args.resume:
        raise CheckpointError("--allow-changes only makes sense with --resume RUN.h5")
    qpu = is_qpu_spec(args.sampler)
    for option, dest in (("--solver", "solver"), ("--s-pause", "s_pause"),
                         ("--chain-strength", "chain_strength"), ("--tiles", "tiles"),
                         ("--dry-run", "dry_run")):
        if (dest in given or getattr(args, dest) is True) and not qpu and not args.resume:
            raise SamplerError(f"{option} applies to QPU samplers only (--sampler dwave, "
                               f"dwave:SOLVER or mock:TOPOLOGY); the run's sampler is "
                               f"{args.sampler}")
    if "annealing_time" in given and args.sampler != "statevector" and not args.resume:
        raise SamplerError(f"--annealing-time applies to --sampler statevector only; the run's "
                           f"sampler is {args.sampler}")
    if "solver" in given and args.sampler.startswith("mock:"):
        raise SamplerError("--solver names a D-Wave solver; a mock QPU's topology is in its "
                           "name (mock:pegasus:16, mock:zephyr:12,4)")
    if not str(args.out):
        raise CheckpointError("--out is empty: give a file name such as run.h5")
    saved, changes = None, {}
    if args.resume:
        saved = checkpoint.load(args.resume)
        config, changes = _resume_config(args, saved)
        out = args.out if "out" in given else args.resume
        done = saved["state"]["epoch"]
        if "epochs" in given and args.epochs < done:
            raise CheckpointError(f"{args.resume!r} already holds {done} epochs, more than "
                                  f"--epochs {args.epochs} (the total): give --epochs "
                                  f"{done + 1} or more to train further")
    else:
        config = config_from_args(args)
        out = args.out
    if getattr(args, "dry_run", False):
        return _dry_run(config, args.json)
    # a new run, or a resumed one written elsewhere, replaces an existing run file only when
    # told to; the file a run resumes is its own to continue
    checkpoint.check_writable(out, replace=args.overwrite or (
        saved is not None and os.path.abspath(out) == os.path.abspath(args.resume)))
    with checkpoint.RunLock(out):
        return _train(args, config, saved, changes, out)


def _train(args, config: dict, saved, changes: dict, out: str) -> int:
    """Train the run ``config`` (from ``saved`` when resuming) into ``out``, which this
    process holds the lock of."""
    for stale in checkpoint.stale_temporaries(out):  # left by a writer killed mid-write
        os.remove(stale)
    sizes = config["layers"]
    redundancy = config["redundancy"]
    if len(sizes) >= 1 and sizes[-1] % max(redundancy, 1):
        raise ArchitectureError(f"the output layer ({sizes[-1]} units) must be a multiple of "
                                f"--redundancy {redundancy}")
    classes = sizes[-1] // max(redundancy, 1)
    check_layers(sizes, classes, redundancy)
    splits = load_splits(config["data"], config["train_size"], config["test_size"], classes)
    train, test = splits["train"], splits["test"]
    if train.X.shape[1] != sizes[0]:
        raise ArchitectureError(f"the input layer has {sizes[0]} units but the data has "
                                f"{train.X.shape[1]} features: change --layers")
    fingerprint = runs.data_fingerprint(train.X, train.y)
    shard, batch = config.get("shard_size"), config["batch_size"]
    if config["scheduler"] != "local" and (shard is None or shard >= batch):
        raise SchedulerError(f"--scheduler {config['scheduler']} would get no work: each "
                             f"minibatch of {batch} images is one task; give --shard-size below "
                             f"--batch-size (e.g. --batch-size 100 --shard-size 25)")
    model = model_from_config(config, verbose=args.progress and not args.json)
    if saved is not None:
        recorded = saved["config"].get("data_sha256")
        if recorded is not None and recorded != fingerprint and not args.allow_changes:
            raise CheckpointError(
                f"the training data of {config['data']!r} (train size {config['train_size']}) "
                f"differ from those {args.resume!r} was trained on: restore the data, or pass "
                f"--allow-changes")
        order = saved["state"]["order"]
        if len(order) and len(order) != len(train):
            raise CheckpointError(
                f"{args.resume!r} stopped inside an epoch over {len(order)} images; the "
                f"training split now has {len(train)}: it cannot continue that epoch")
        model.restore_checkpoint(saved)
        if changes:
            config.setdefault("changes", []).append(
                {"step": saved["state"]["steps"],
                 "options": {k: [old, new] for k, (old, new) in changes.items()}})
    config["data_sha256"] = fingerprint
    eval_sets = {"test": (test.X, test.y)} if len(test) else {}
    every, keep = args.checkpoint_every, args.keep
    hint = (f"layersweep train --resume {shlex.quote(out)}"
            + (f" --checkpoint-every {every}" if every else "")
            + (f" --keep {keep}" if keep > 1 else "")
            + (f" --scheduler {shlex.quote(args.scheduler)}" if args.scheduler != "local"
               else ""))
    started = time.perf_counter()

    # the file holds a checkpoint of this run once one is written (or when it is resumed)
    progress = {"written": saved is not None and os.path.abspath(out) == os.path.abspath(
        args.resume)}

    with _StopRequest() as stop:
        def write(trainer):
            checkpoint.save(out, trainer, config, keep=keep)
            progress["written"] = True

        def on_step(trainer):
            if stop.signum is not None:
                write(trainer)
                raise _Stopped
            # the update that ends an epoch is saved by on_epoch, with the epoch's figures
            if every and trainer.steps % every == 0 and trainer.position < len(train):
                write(trainer)

        def on_epoch(row, model):
            write(model.trainer_)
            if args.json:
                emit_json(row)
            else:
                test_error = f"  test error {row['test_error']:.3f}" if "test_error" in row else ""
                spent = (f"  QPU {row['qpu_calls']:.0f} calls {row['qpu_access_seconds']:.2f} s"
                         if "qpu_calls" in row else "")
                spent += "".join(f"  {title} {fmt.format(row[key])}"
                                 for key, title, fmt in SAMPLER_COLUMNS if key in row)
                blocks = "".join(f"  gap {k[4:]} {v:+.2f}" for k, v in sorted(row.items())
                                 if k.startswith("gap_"))
                correct = (f"  free ok {row['free_correct']:.2f}"
                           if "free_correct" in row else "")
                stage = "  (greedy stage)" if row.get("greedy") else ""
                worst = (f"  worst class {row['worst_class']} {row['worst_recall']:.2f}"
                         if "worst_recall" in row else "")
                print(f"epoch {row['epoch']:3d}  train error {row['train_error']:.3f}{worst}"
                      f"{test_error}{blocks}{correct}  {row['seconds']:.1f} s{spent}{stage}",
                      flush=True)
            if stop.signum is not None:
                raise _Stopped

        try:
            if saved is None:
                if stop.signum is None:
                    model.fit(train.X, train.y, eval_sets=eval_sets, on_epoch=on_epoch,
                              on_step=on_step)
            elif model.trainer_.epoch >= config["epochs"]:
                print(f"{args.resume} already holds {model.trainer_.epoch} epochs: nothing to "
                      f"do (give --epochs E > {model.trainer_.epoch} to train further)")
                return 0
            elif stop.signum is None:
                if out != args.resume:
                    write(model.trainer_)
                model.train_to(train.X, train.y, config["epochs"], eval_sets=eval_sets,
                               on_epoch=on_epoch, on_step=on_step)
            if stop.signum is not None:  # a signal before the first or after the last update
                if hasattr(model, "trainer_"):
                    write(model.trainer_)
                raise _Stopped
        except _Stopped:
            _report_stop(stop.signum, out, hint, model, config, len(train))
            return 130
        except SchedulerError as exc:
            trainer = getattr(model, "trainer_", None)
            if trainer is None or not (trainer.steps or saved is not None):
                raise
            write(trainer)  # the failed update changed nothing: this state is consistent
            raise SchedulerError(
                f"{exc}. The run is saved in {out} (epoch {trainer.epoch + 1}, "
                f"{trainer.position}/{len(train)} images, {trainer.steps} updates); resume "
                f"with: {hint}") from None
        except KeyboardInterrupt:
            _report_stop(None, out, hint, model, config, len(train))
            return 130
        except DivergenceError as exc:
            rates = " ".join(f"{runs.option(k)} {_join(f'{r / 10:g}' for r in config[k])}"
                             for k in ("lr_W", "lr_b"))
            raise DivergenceError(f"{exc}. {_last_checkpoint(out, progress['written'])}"
                                  + (f"; resume it at lower rates with: layersweep train "
                                     f"--resume {shlex.quote(out)} --allow-changes {rates}"
                                     if progress["written"] else "")) from None
        except CheckpointError as exc:  # the run file could not be written (e.g. disk full)
            raise CheckpointError(f"{exc}. {_last_checkpoint(out, progress['written'])}"
                                  + (f"; make room, then resume with: {hint}"
                                     if progress["written"] else "")) from None

    heldout = splits["heldout"]
    summary = {"summary": True, "epochs": model.trainer_.epoch, "out": out,
               "train_accuracy": 1 - model.history_[-1]["train_error"],
               "test_accuracy": (1 - model.history_[-1]["test_error"]) if eval_sets else None,
               "heldout_accuracy": (1 - model.error_rate(heldout.X, heldout.y)
                                    if len(heldout) else None),
               "heldout_n": len(heldout), "seconds": time.perf_counter() - started}
    if args.json:
        emit_json(summary)
    else:
        print()
        staged = any(row.get("greedy") for row in model.history_)
        shown = [c for c in SAMPLER_COLUMNS if any(c[0] in row for row in model.history_)]
        table(model.history_, COLUMNS + shown + ([GREEDY_COLUMN] if staged else []))
        held, tested = ("n/a" if summary[k] is None else f"{summary[k]:.3f}"
                        for k in ("heldout_accuracy", "test_accuracy"))
        print(f"\nheldout accuracy {held} on {len(heldout)} images; test {tested}; "
              f"{summary['seconds']:.0f} s in all; run file {out}")
    return 0


def _last_checkpoint(out: str, written: bool) -> str:
    """Where the run stands on disk after a failure: its intact last checkpoint, or none."""
    if not written:
        return "Nothing of this run was saved"
    try:
        state = checkpoint.load(out)["state"]
    except CheckpointError:
        return f"The last checkpoint in {out} cannot be read"
    where = (f"epoch {state['epoch'] + 1}, {state['position']} images into it"
             if state["position"] else f"after epoch {state['epoch']}")
    return f"The last good checkpoint, {out} ({where}, {state['steps']} updates), is intact"


def _dry_run(config: dict, as_json: bool) -> int:
    """Print the QPU cost of the planned run (nothing is sent, nothing is trained): one epoch
    of each stage driven through the real training step against a counting sampler."""
    sizes, redundancy = config["layers"], config["redundancy"]
    classes = sizes[-1] // max(redundancy, 1)
    check_layers(sizes, classes, redundancy)
    train = load_splits(config["data"], config["train_size"], config["test_size"],
                        classes)["train"]
    if train.X.shape[1] != sizes[0]:
        raise ArchitectureError(f"the input layer has {sizes[0]} units but the data has "
                                f"{train.X.shape[1]} features: change --layers")
    estimate = cost.estimate_run(
        runs.estimator(config, sampler="numpy"), train.X, train.y,
        dry_run_topology(config["sampler"], config.get("solver")), config.get("tiles"),
        s_pause=config.get("s_pause") or 0.7)
    emit_json(estimate) if as_json else print(cost.format_estimate(estimate))
    return 0


def _report_stop(signum, out: str, hint: str, model, config: dict, n_train: int) -> None:
    """The message of an interrupted run; ``hint`` is the command that resumes it."""
    trainer = getattr(model, "trainer_", None)
    if signum is None:
        # a second signal (or one outside the main thread) stopped an update half-way: its
        # state is not written; the file holds the last checkpoint, if any
        if trainer is not None and checkpoint.is_run_file(out):
            print(f"layersweep: interrupted; the last checkpoint in {out} is kept. Resume "
                  f"with: {hint}", file=sys.stderr, flush=True)
        else:
            print("layersweep: interrupted before any checkpoint was written",
                  file=sys.stderr, flush=True)
        return
    if trainer is None:
        print(f"layersweep: {signal.Signals(signum).name} received before training started; "
              f"nothing was written", file=sys.stderr, flush=True)
        return
    name = signal.Signals(signum).name
    where = (f"epoch {trainer.epoch + 1}, {trainer.position}/{n_train} images"
             if trainer.position else f"after epoch {trainer.epoch}")
    if trainer.epoch >= config["epochs"]:
        advice = "all epochs are done"
    else:
        advice = f"resume with: {hint}"
    print(f"layersweep: {name} received: checkpoint written to {out} ({where}, "
          f"{trainer.steps} updates); {advice}", file=sys.stderr, flush=True)
