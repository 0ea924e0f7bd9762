"""HDF5 run files: configuration, parameters, training state and history
(docs/how-it-works.md §6).

Layout (format version 1; readable with h5py or ``h5dump`` alone, no pickle anywhere)::

    /                       attrs: format = "layersweep-run", format_version = 1,
                                   layersweep_version, config (JSON), layers (int array),
                                   classes, redundancy, created (ISO time, UTC)
    /parameters/W1, b1, ... float32 arrays, W^l of shape (n_l, n_{l-1}), b^l of shape (n_l,)
    /state                  attrs: epoch (completed), position (images done in the current
                                   epoch), steps (updates so far), rng (JSON of the NumPy bit
                                   generator's state), running (JSON of the current epoch's
                                   partial figures), sampler_seeds (how the samplers' seeds
                                   follow from rng)
    /state/order            int64, the current epoch's shuffle order (empty between epochs)
    /state/greedy/W, b      during a deep net's greedy start only: the output side of the
                            shallow stage, float32 (n_L, n_1) and (n_L,)
    /state/averaged/W1, b1, ...  with parameter averaging only: the averaged parameters
                            (the ones that predict), shapes as /parameters; attr images (how
                            many training images they average over so far)
    /history                one float64 dataset per figure (epoch, train_error, test_error,
                            worst_class, worst_recall, seconds, gap_1-2, free_correct, ...),
                            one entry per epoch
    /sampler                attrs: name, properties (JSON of the sampler's ``properties``)
    /embeddings             one subgroup per block ("1-2", ...) with string attrs (topology,
                            fingerprint, cache_key, ...) for a sampler that embeds blocks on a
                            QPU; empty for the CPU samplers

The samplers' seeds are child seeds drawn from the run's generator (one per sampler call), so
restoring ``/state`` attr ``rng`` restores them; the root seed is the config's ``seed``.
``/sampler`` and ``/embeddings`` were added within version 1: a file without them still loads.

Files are written atomically: a temporary file in the same folder, flushed and fsynced, then
renamed over the target (and the folder fsynced), so a crash leaves the previous file whole.
With ``keep=K`` the previous K-1 files survive as ``run.h5.1`` (newest) .. ``run.h5.<K-1>``;
``run.h5`` itself is never absent once written.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import secrets
import shutil

try:
    import fcntl
except ImportError:  # Windows: run files are not locked
    fcntl = None

import h5py
import numpy as np

from . import __version__
from .exceptions import CheckpointError
from .network import Network

FORMAT = "layersweep-run"
FORMAT_VERSION = 1
SAMPLER_SEEDS = ("one int in [0, 2**31) per sampler call, drawn from the generator in "
                 "/state attr rng (layersweep.sweep.seed_from); restoring rng restores them")


def rotated(path, k: int) -> str:
    """The name of the k-th older checkpoint of ``path`` (``run.h5.1`` is the newest of them)."""
    return f"{os.fspath(path)}.{k}" if k else os.fspath(path)


def _folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def is_run_file(path) -> bool:
    """True if ``path`` is an HDF5 file that says it is a layersweep run file."""
    try:
        with h5py.File(os.fspath(path), "r") as f:
            return f.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return False


def check_writable(path, replace: bool = True) -> None:
    """Refuse, before any training, an output path that cannot take a run file.

    The folder must exist and accept new files (tried, not guessed from permission bits), and
    an existing file there must be a layersweep run file (anything else is never overwritten)
    that the caller means to ``replace`` (else :class:`CheckpointError`: a new run never
    replaces an earlier one by accident).
    """
    path = os.fspath(path)
    folder = _folder(path)
    if not os.path.isdir(folder):
        blocker = _file_in_the_way(os.path.dirname(path))
        raise CheckpointError(f"cannot write {path!r}: " + (
            f"{blocker!r} is a file, not a folder" if blocker else
            f"folder {folder!r} does not exist"))
    if os.path.isdir(path):
        raise CheckpointError(f"cannot write {path!r}: it is a folder; give a file name")
    if os.path.exists(path) and not is_run_file(path):
        raise CheckpointError(
            f"refusing to overwrite {path!r}: it exists and is not a layersweep run file "
            f"(corrupt, truncated or something else); move it away or choose another --out")
    if os.path.exists(path) and not replace:
        raise CheckpointError(
            f"{path!r} already holds a run: pass --overwrite to replace it, --resume "
            f"{path} to continue it, or choose another --out")
    try:
        os.remove(_temporary(path, "probe"))
    except OSError as exc:
        raise CheckpointError(f"cannot write {path!r}: folder {folder!r} is not writable "
                              f"({exc.strerror or exc})") from None


def _file_in_the_way(folder: str) -> str | None:
    """The nearest existing ancestor of ``folder`` (as given, relative or not) if it is not a
    folder, else None."""
    while folder and not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return folder if folder and not os.path.isdir(folder) else None


def lock_name(path) -> str:
    """The lock file of run file ``path``: ``.<name>.lock`` beside it, there while a process
    trains into ``path``."""
    path = os.fspath(path)
    return os.path.join(_folder(path), f".{os.path.basename(path)}.lock")


class RunLock:
    """Held by the one process that trains into a run file: an exclusive ``flock`` on
    :func:`lock_name`, which the system releases when the process ends, however it ends. A
    second ``layersweep train`` into the same file is refused at once instead of overwriting
    it. The lock file is removed on release; a holder checks, once locked, that the name
    still leads to the file it locked (else another process removed it, and it tries again).
    Where the system has no ``flock`` (Windows) a run file is not locked."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = lock_name(self.path)
        self._fd = None

    def __enter__(self) -> "RunLock":
        if fcntl is None:
            return self
        while self._fd is None:
            try:
                fd = os.open(self.name, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise CheckpointError(f"cannot lock {self.path!r} for training: "
                                      f"{exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise CheckpointError(f"another process is training into {self.path!r}: "
                                      f"wait for it to finish, or choose another --out") from None
            try:
                same = os.stat(self.name).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
            else:  # released and removed by its holder between our open and our lock
                os.close(fd)
        return self

    def __exit__(self, *exc) -> bool:
        if self._fd is not None:
            try:
                os.remove(self.name)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
        return False


def _temporary(path: str, kind: str = "tmp") -> str:
    """Create an empty ``.<name>.<8 hex>.<kind>`` next to ``path``, exclusively, with the mode
    a plain ``open`` would give (unlike ``tempfile.mkstemp``'s private 0600)."""
    folder, base = _folder(path), os.path.basename(path)
    for _ in range(100):
        name = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.{kind}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path!r}")


def stale_temporaries(path) -> list[str]:
    """Temporary files that writers of ``path`` killed mid-write left behind (a SIGKILL or a
    power cut skips the clean-up); the run file itself is never among them."""
    path = os.fspath(path)
    folder, base = _folder(path), os.path.basename(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    pattern = re.compile(rf"\.{re.escape(base)}\.[0-9a-f]{{8}}\.(tmp|link)")
    return [os.path.join(folder, n) for n in sorted(names) if pattern.fullmatch(n)]


def save(path, trainer, config: dict, keep: int = 1) -> None:
    """Write ``trainer``'s complete state and the run's ``config`` to ``path`` atomically.

    ``keep``: how many checkpoints to keep; the previous ones are rotated to ``path.1`` ..
    ``path.<keep-1>`` (``path.1`` the newest). ``path`` is replaced in one rename, so at every
    moment it is a whole checkpoint (the new or the previous one).
    """
    path = os.fspath(path)
    folder = _folder(path)
    if not os.path.isdir(folder):
        raise CheckpointError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if keep < 1:
        raise CheckpointError(f"keep must be at least 1 (the checkpoint itself); got {keep}")
    try:
        tmp = _temporary(path)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path!r}: folder {folder!r} is not writable "
                              f"({exc.strerror or exc})") from None
    try:
        with h5py.File(tmp, "w") as f:
            _write(f, trainer, config)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if keep > 1 and os.path.exists(path):
            _rotate(path, keep)
        os.replace(tmp, path)
        _fsync_folder(folder)
    except OSError as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"cannot write {path!r}: {_reason(exc)}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _reason(exc: OSError) -> str:
    """Why a write failed, in a few words (HDF5 buries the errno in a long text)."""
    text = str(exc)
    if exc.errno == errno.ENOSPC or "errno = 28" in text or "No space left" in text:
        return "the disk is full (no space left on device)"
    if exc.errno == errno.EDQUOT or "Disk quota exceeded" in text:
        return "the disk quota is exceeded"
    return exc.strerror or text


def _write(f: h5py.File, trainer, config: dict) -> None:
    net = trainer.net
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
    state.attrs["sampler_seeds"] = SAMPLER_SEEDS
    order = np.asarray([] if trainer.order is None else trainer.order, np.int64)
    state.create_dataset("order", data=order)
    if trainer.stage is not None:
        greedy = state.create_group("greedy")
        greedy.create_dataset("W", data=trainer.stage[0])
        greedy.create_dataset("b", data=trainer.stage[1])
    if trainer.averaged is not None:
        averaged = state.create_group("averaged")
        averaged.attrs["images"] = trainer.averaged_images
        for name, value in trainer.averaged.parameters().items():
            averaged.create_dataset(name, data=value)
    history = f.create_group("history")
    keys = sorted({k for row in trainer.history for k in row})
    for key in keys:
        history.create_dataset(key, data=np.asarray(
            [row.get(key, np.nan) for row in trainer.history], np.float64))
    properties = dict(getattr(trainer.sampler, "properties", {}) or {})
    used = properties.pop("embeddings", None) or {}
    sampler = f.create_group("sampler")
    sampler.attrs["name"] = str(properties.get("name", type(trainer.sampler).__name__))
    sampler.attrs["properties"] = json.dumps(properties, sort_keys=True, default=repr)
    # Only a QPU sampler embeds blocks; it reports them in properties["embeddings"] as
    # {"1-2": {"topology": ..., "fingerprint": ..., "cache_key": ...}}. CPU samplers: empty.
    embeddings = f.create_group("embeddings")
    for block, entry in sorted(used.items()):
        group = embeddings.create_group(str(block))
        for key, value in sorted(entry.items()):
            group.attrs[key] = value if isinstance(value, str) else json.dumps(value)


def _rotate(path: str, keep: int) -> None:
    """Shift ``path.(k)`` to ``path.(k+1)`` from the oldest down and hard-link ``path`` to
    ``path.1``; ``path`` itself stays in place until the caller renames the new file over it."""
    for k in range(keep - 2, 0, -1):
        if os.path.exists(rotated(path, k)):
            os.replace(rotated(path, k), rotated(path, k + 1))
    link = _temporary(path, "link")
    try:
        os.remove(link)
        os.link(path, link)
    except OSError:  # a file system without hard links: copy instead
        shutil.copyfile(path, link)
    os.replace(link, rotated(path, 1))


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path, finite: bool = True) -> dict:
    """Read a run file -> ``{"config", "network", "state", "history", "meta", "sampler",
    "embeddings", "non_finite"}``.

    Raises :class:`CheckpointError` for a missing, corrupt or truncated file, a file that is
    not a layersweep run, or one of another format version; and, unless ``finite=False``
    (what ``info`` uses to show such a file), for one whose parameters hold an infinite or
    NaN value (``non_finite`` lists such datasets, e.g. ``["parameters/W1"]``).
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
            net = _network(f["parameters"], sizes, f.attrs, path, "parameter")
            st = f["state"]
            state = {"epoch": int(st.attrs["epoch"]), "position": int(st.attrs["position"]),
                     "steps": int(st.attrs["steps"]), "rng": json.loads(st.attrs["rng"]),
                     "running": json.loads(st.attrs["running"]),
                     "order": np.asarray(st["order"], np.int64), "stage": None,
                     "averaged": None, "averaged_images": 0}
            if "averaged" in st:
                state["averaged"] = _network(st["averaged"], sizes, f.attrs, path,
                                             "averaged parameter")
                state["averaged_images"] = int(st["averaged"].attrs["images"])
            if "greedy" in st:
                stage = tuple(np.asarray(st["greedy"][k], np.float32) for k in ("W", "b"))
                if stage[0].shape != (sizes[-1], sizes[1]) or stage[1].shape != (sizes[-1],):
                    raise CheckpointError(
                        f"{path!r}: the greedy stage's output side has shapes "
                        f"{stage[0].shape}, {stage[1].shape}; expected {(sizes[-1], sizes[1])}"
                        f", {(sizes[-1],)} for layers {sizes}")
                state["stage"] = stage
            columns = {k: np.asarray(v, np.float64) for k, v in f["history"].items()}
            n_rows = max((len(v) for v in columns.values()), default=0)
            history = [{k: _plain(k, v[i]) for k, v in columns.items() if not np.isnan(v[i])}
                       for i in range(n_rows)]
            meta = {k: (v.tolist() if isinstance(v, (np.ndarray, np.generic)) else v)
                    for k, v in f.attrs.items() if k != "config"}
            config = json.loads(f.attrs["config"])
            sampler = json.loads(f["sampler"].attrs["properties"]) if "sampler" in f else {}
            embeddings = ({block: dict(group.attrs) for block, group in f["embeddings"].items()}
                          if "embeddings" in f else {})
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{path!r} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            f"use an earlier checkpoint") from None
    non_finite = [f"{group}/{name}" for group, network in
                  (("parameters", net), ("state/averaged", state["averaged"]))
                  if network is not None
                  for name, value in network.parameters().items() if not np.isfinite(value).all()]
    if state["stage"] is not None:
        non_finite += [f"state/greedy/{name}" for name, value in zip("Wb", state["stage"])
                       if not np.isfinite(value).all()]
    if non_finite and finite:
        raise CheckpointError(f"{path!r} is corrupt: {', '.join(non_finite)} hold(s) infinite "
                              f"or NaN values; use an earlier checkpoint")
    order, position = state["order"], state["position"]
    if position < 0 or (len(order) and (position > len(order) or not np.array_equal(
            np.sort(order), np.arange(len(order))))) or (not len(order) and position):
        raise CheckpointError(f"{path!r} is corrupt: position {position} does not fit its "
                              f"shuffle order of {len(order)} images")
    return {"config": config, "network": net, "state": state, "history": history, "meta": meta,
            "sampler": sampler, "embeddings": embeddings, "path": path,
            "non_finite": non_finite}


def _network(group, sizes: list, attrs, path: str, what: str) -> Network:
    """A network of layers ``sizes`` from the datasets ``W1, b1, ...`` of ``group``."""
    net = Network(sizes, int(attrs["classes"]), int(attrs["redundancy"]))
    for l in range(1, net.depth + 1):
        for store, name in ((net.W, f"W{l}"), (net.b, f"b{l}")):
            value = np.asarray(group[name], np.float32)
            if value.shape != store[l].shape:
                raise CheckpointError(
                    f"{path!r}: {what} {name} has shape {value.shape}, expected "
                    f"{store[l].shape} for layers {sizes}")
            store[l] = value
    return net


def predictor(saved: dict) -> Network:
    """The network a loaded run file predicts with: its averaged parameters if the run
    averages them, else its parameters."""
    averaged = saved["state"].get("averaged")
    return saved["network"] if averaged is None else averaged


def restore(trainer, saved: dict) -> None:
    """Put a loaded run file's network, generator, position and history into ``trainer``.

    ``trainer`` comes from the run's configuration (sampler, sweep, rates); its network must
    have the saved architecture, else :class:`CheckpointError`. Afterwards training continues
    exactly where the saved run stopped.
    """
    net = saved["network"]
    where = saved.get("path", "the run file")
    mine = trainer.net
    if (list(mine.sizes), mine.classes, mine.redundancy) != (list(net.sizes), net.classes,
                                                               net.redundancy):
        raise CheckpointError(
            f"{where!r} holds a network of layers {list(net.sizes)} ({net.classes} classes x "
            f"{net.redundancy}), not the {list(mine.sizes)} ({mine.classes} x "
            f"{mine.redundancy}) asked for: another architecture")
    state = saved["state"]
    if type(trainer.rng.bit_generator).__name__ != state["rng"].get("bit_generator"):
        raise CheckpointError(f"{where!r} holds the state of a {state['rng'].get('bit_generator')} "
                              f"generator, not {type(trainer.rng.bit_generator).__name__}")
    for l in range(1, net.depth + 1):
        mine.W[l] = net.W[l].copy()
        mine.b[l] = net.b[l].copy()
    trainer.rng.bit_generator.state = state["rng"]
    trainer.epoch = state["epoch"]
    trainer.steps = state["steps"]
    trainer.position = state["position"]
    trainer.order = state["order"].copy() if len(state["order"]) else None
    trainer.running = dict(state["running"])
    trainer.history = [dict(row) for row in saved["history"]]
    averaged = state.get("averaged") if trainer.average else None
    trainer.averaged = None if averaged is None else averaged.copy()
    trainer.averaged_images = state.get("averaged_images", 0) if averaged is not None else 0
    stage = state.get("stage")
    trainer.stage = None if stage is None else tuple(a.copy() for a in stage)
    if trainer.staging and trainer.stage is None:
        raise CheckpointError(
            f"{where!r} stopped in epoch {trainer.epoch + 1}, inside the greedy start of "
            f"{trainer.greedy} epochs, but holds no greedy stage: it was written by a run "
            f"without one (resume it with greedy_epochs=0 / --greedy-epochs 0)")


def _plain(key: str, value: float):
    """History values back to Python numbers (counts as int)."""
    return int(value) if key in ("epoch", "worst_class") else float(value)
