"""A run's configuration: what its run file records, how older files are read, and what a
resumed run may change.

A run file's ``config`` (a JSON attribute, see :mod:`layersweep.checkpoint`) holds the
options that define the run (:data:`RUN_KEYS`: the architecture, the data, the sampler and its
schedule, the batch size, the seed, and every field of the resolved
:class:`~layersweep.recipe.Recipe`), the run's :class:`~layersweep.recipe.Plan` as plain values
(``plan``), where it runs (``scheduler``, QPU options) and its record (``data_sha256``,
``changes``). :func:`estimator` turns it back into a :class:`LayerSweepClassifier`;
:func:`from_run_file` does so with the trained state restored, in one call.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from .exceptions import CheckpointError
from .recipe import FIELDS, Recipe, resolve

#: the options besides the recipe's fields that define a run: changing one on resume needs
#: ``allow_changes`` (the recipe's fields are run options too: :data:`RUN_OPTIONS`)
RUN_KEYS = ("layers", "redundancy", "data", "train_size", "test_size", "sampler", "sweeps",
            "reverse_beta", "batch_size", "seed", "max_block_spins", "shard_size",
            "annealing_time")
RUN_OPTIONS = RUN_KEYS + tuple(FIELDS)
#: run options added after run files were first written, with the value older files imply
#: (the recipe's own are in its table, :attr:`~layersweep.recipe.Field.before`)
LATER = {"shard_size": None, "annealing_time": None,
         **{f.name: f.before for f in FIELDS.values() if f.before is not None}}
#: the command-line option of each run option whose name is not ``--`` + the key
OPTION = {f.name: f.option for f in FIELDS.values()}


def data_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """sha256 of a training split (float32 pixels and int64 labels, with their shapes): the
    config's ``data_sha256``, which a resume or an evaluation compares with its data."""
    h = hashlib.sha256(repr((X.shape, y.shape)).encode())
    h.update(np.ascontiguousarray(X, np.float32).tobytes())
    h.update(np.ascontiguousarray(y, np.int64).tobytes())
    return h.hexdigest()


def option(key: str) -> str:
    """The command-line option of config key ``key`` (``lr_W`` -> ``--lr-w``)."""
    return OPTION.get(key) or "--" + key.replace("_", "-")


def plain(value):
    """JSON-ready: tuples as lists, recursively."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def config(layers, redundancy: int, recipe, **options) -> dict:
    """A run's config: the run options ``options`` (see :data:`RUN_KEYS`; where it runs and
    the QPU options may be given too), the recipe resolved for ``layers`` (its fields as
    keys) and its plan."""
    plan = resolve(recipe, layers, options.get("epochs"))
    resolved = {name: plain(value) for name, value in
                dataclasses.asdict(plan.recipe).items()}
    return {"layers": list(layers), "redundancy": redundancy, **options, **resolved,
            "plan": plain(plan.describe())}


def migrate(saved: dict, path: str = "the run file") -> dict:
    """A run file's config as this version writes it: options added later take the values
    older files imply, and the recipe is resolved (older files recorded some defaults as
    ``null``). Raises :class:`CheckpointError` for a config that was not written by
    ``layersweep train``."""
    config = {**LATER, **saved}
    layers = config.get("layers", ())
    if "greedy_epochs" not in saved and len(layers) > 3:
        # written when two rates meant (W^1, every other coupling) for a deep net too
        for key in ("lr_W", "lr_b"):
            if len(config.get(key, ())) == 2:
                config[key] = config[key][:1] + config[key][1:] * (len(layers) - 2)
    missing = [k for k in RUN_OPTIONS if k not in config]
    if missing:
        raise CheckpointError(f"{path!r} was not written by `layersweep train` (its config "
                              f"lacks {', '.join(missing)}); it cannot be resumed here")
    plan = resolve({name: config[name] for name in FIELDS}, layers, config.get("epochs"))
    config.update({name: plain(value) for name, value in
                   dataclasses.asdict(plan.recipe).items()})
    return config


def changes(saved: dict, fresh: dict, given) -> dict:
    """``{key: (in the file, given)}`` for every run option named in ``given`` whose value
    in ``fresh`` (a config built from the given options) differs from ``saved``'s (both
    migrated/resolved)."""
    return {key: (saved[key], fresh[key]) for key in RUN_OPTIONS
            if key in given and plain(fresh[key]) != plain(saved[key])}


def refuse_changes(path: str, found: dict) -> None:
    """The error for options given on resume that would change the run."""
    listed = "; ".join(f"{option(k)} {show(new)} (the file has {show(old)})"
                       for k, (old, new) in found.items())
    raise CheckpointError(f"{path!r} was trained with other options: {listed}. Drop them to "
                          f"continue the run as it was, or pass --allow-changes to change them")


def show(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else "none"
    return str(value)


def estimator(config: dict, sampler=None, verbose: bool = False):
    """The :class:`~layersweep.estimator.LayerSweepClassifier` of a run's (migrated)
    config; ``sampler``: the sampler object to use instead of the config's name (a QPU
    sampler built with the run's QPU options)."""
    from .estimator import LayerSweepClassifier

    return LayerSweepClassifier(
        hidden_layer_sizes=tuple(config["layers"][1:-1]), redundancy=config["redundancy"],
        recipe=Recipe(**{name: _tuple(config[name]) for name in FIELDS}),
        sampler=config["sampler"] if sampler is None else sampler, sweeps=config["sweeps"],
        reverse_beta=config["reverse_beta"], epochs=config["epochs"],
        batch_size=config["batch_size"], max_block_spins=config["max_block_spins"],
        shard_size=config.get("shard_size"), scheduler=config.get("scheduler", "local"),
        random_state=config["seed"], verbose=verbose)


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def from_run_file(path, sampler=None, verbose: bool = False):
    """The estimator of the run in ``path``, with its trained state restored: ``predict``
    and ``score`` use the run's network, ``train_to`` continues the run bit for bit."""
    from . import checkpoint

    saved = checkpoint.load(path)
    model = estimator(migrate(saved["config"], str(path)), sampler, verbose)
    return model.restore_checkpoint(saved)
