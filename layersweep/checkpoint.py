"""HDF5 run files: configuration, parameters, training state and history (DESIGN §6).

Layout (format version 1; readable with h5py or ``h5dump`` alone)::

    /                       attrs: format = "layersweep-run", format_version = 1,
                                   layersweep_version, config (JSON), layers (int array),
                                   classes, redundancy, created (ISO time)
    /parameters/W1, b1, ... float32 arrays, W^l of shape (n_l, n_{l-1}), b^l of shape (n_l,)
    /state                  attrs: epoch (completed), position (images done in the current
                                   epoch), steps (updates so far), rng (JSON of the NumPy bit
                                   generator's state), running (JSON of the current epoch's
                                   partial figures)
    /state/order            int64, the current epoch's shuffle order (empty between epochs)
    /history                one float64 dataset per figure (epoch, train_error, test_error,
                            seconds, gap_1-2, free_correct, ...), one entry per epoch

Files are written atomically: a temporary file in the same folder, flushed and fsynced, then
renamed over the target, so a crash leaves the previous file whole. No pickle anywhere.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile

import h5py
import numpy as np

from . import __version__
from .exceptions import CheckpointError
from .network import Network

FORMAT = "layersweep-run"
FORMAT_VERSION = 1


def save(path, trainer, config: dict) -> None:
    """Write ``trainer``'s complete state and the run's ``config`` to ``path`` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CheckpointError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise CheckpointError(f"cannot write {path!r}: folder {folder!r} is not writable")
    net = trainer.net
    fd, tmp = tempfile.mkstemp(prefix=".layersweep-", suffix=".h5.tmp", dir=folder)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["layersweep_version"] = __version__
            f.attrs["config"] = json.dumps(config, sort_keys=True)
            f.attrs["layers"] = np.asarray(net.sizes, np.int64)
            f.attrs["classes"] = net.classes
            f.attrs["redundancy"] = net.redundancy
            f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
            params = f.create_group("parameters")
            for name, value in net.parameters().items():
                params.create_dataset(name, data=value)
            state = f.create_group("state")
            state.attrs["epoch"] = trainer.epoch
            state.attrs["position"] = trainer.position
            state.attrs["steps"] = trainer.steps
            state.attrs["rng"] = json.dumps(trainer.rng.bit_generator.state)
            state.attrs["running"] = json.dumps(trainer.running)
            order = np.asarray([] if trainer.order is None else trainer.order, np.int64)
            state.create_dataset("order", data=order)
            history = f.create_group("history")
            keys = sorted({k for row in trainer.history for k in row})
            for key in keys:
                history.create_dataset(key, data=np.asarray(
                    [row.get(key, np.nan) for row in trainer.history], np.float64))
            f.flush()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path) -> dict:
    """Read a run file -> ``{"config", "network", "state", "history", "meta"}``.

    Raises :class:`CheckpointError` for a missing, corrupt or truncated file, a file that is
    not a layersweep run, or one of another format version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"no run file at {path!r}")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise CheckpointError(f"{path!r} is an HDF5 file but not a layersweep run file")
            version = int(f.attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise CheckpointError(
                    f"{path!r} has run-file format version {version}; this layersweep "
                    f"({__version__}) reads version {FORMAT_VERSION}")
            sizes = [int(n) for n in f.attrs["layers"]]
            net = Network(sizes, int(f.attrs["classes"]), int(f.attrs["redundancy"]))
            for l in range(1, net.depth + 1):
                for store, name in ((net.W, f"W{l}"), (net.b, f"b{l}")):
                    value = np.asarray(f["parameters"][name], np.float32)
                    if value.shape != store[l].shape:
                        raise CheckpointError(
                            f"{path!r}: parameter {name} has shape {value.shape}, expected "
                            f"{store[l].shape} for layers {sizes}")
                    store[l] = value
            st = f["state"]
            state = {"epoch": int(st.attrs["epoch"]), "position": int(st.attrs["position"]),
                     "steps": int(st.attrs["steps"]), "rng": json.loads(st.attrs["rng"]),
                     "running": json.loads(st.attrs["running"]),
                     "order": np.asarray(st["order"], np.int64)}
            columns = {k: np.asarray(v, np.float64) for k, v in f["history"].items()}
            n_rows = max((len(v) for v in columns.values()), default=0)
            history = [{k: _plain(k, v[i]) for k, v in columns.items() if not np.isnan(v[i])}
                       for i in range(n_rows)]
            meta = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f.attrs.items()
                    if k != "config"}
            config = json.loads(f.attrs["config"])
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{path!r} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            f"use an earlier checkpoint") from None
    return {"config": config, "network": net, "state": state, "history": history, "meta": meta}


def _plain(key: str, value: float):
    """History values back to Python numbers (``epoch`` as int)."""
    return int(value) if key == "epoch" else float(value)
