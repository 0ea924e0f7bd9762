"""The embedding cache: one verified JSON file per (target graph, block), shared by runs.

Files are ``<lattice>-<fingerprint[:12]>-K<a>x<b>.json``, written atomically under an
inter-process lock into the writable folder (the per-user cache, ``$LAYERSWEEP_EMBEDDINGS`` or
a folder given); the committed embeddings (``embeddings/`` of a source checkout, or installed
with the package) are searched after it, read-only. :func:`block_embedding` looks an entry up,
re-verifies one found for another working graph of the same lattice, or searches and stores;
a hit's chains are verified with minorminer before use. The file format:
``embeddings/README.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import fasteners
from minorminer.utils import is_valid_embedding

from layersweep.exceptions import CacheError, EmbeddingError
from layersweep.topology import Target, parse_topology, resolve_target

from .find import (DEFAULT_TIMEOUT, BlockEmbedding, Chains, _verify_copies,
                   find_block_embedding, source_graph)

ENV_VAR = "LAYERSWEEP_EMBEDDINGS"
FORMAT = "layersweep-embedding"
FORMAT_VERSION = 1


def _checksum(a: int, b: int, fingerprint: str, copies: list[Chains]) -> str:
    """sha256 over the block, the target fingerprint and every copy's chains."""
    payload = [a, b, fingerprint, [[list(c[v]) for v in range(a + b)] for c in copies]]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


def _to_json(emb: BlockEmbedding) -> dict:
    """The cache-file document of an embedding (see embeddings/README.md)."""
    n = emb.a + emb.b
    doc = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "block": {"a": emb.a, "b": emb.b,
                  "labels": "spins 0..a-1 are layer l, a..a+b-1 are layer l+1"},
        "target": emb.target, "method": emb.method, "seed": emb.seed, "seconds": emb.seconds,
        "origin": emb.origin, "stats": emb.stats(), "versions": emb.versions,
        "created": emb.created,
        "checksum": _checksum(emb.a, emb.b, emb.fingerprint, emb.copies),
        "chains": [list(emb.chains[v]) for v in range(n)],
    }
    if emb.tiles or emb.tiles_complete:
        doc["tiles"] = {"complete": emb.tiles_complete,
                        "copies": [[list(t[v]) for v in range(n)] for t in emb.tiles]}
    return doc


_INT_LIST = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")


def _dumps(doc: dict) -> str:
    """Indented JSON with every list of integers (a chain, a shape) on one line."""
    text = json.dumps(doc, indent=1)
    return _INT_LIST.sub(lambda m: "[" + re.sub(r",\s*", ",", m.group(1)) + "]", text) + "\n"


def _from_json(doc, path: Path) -> BlockEmbedding:
    """Parse a cache document; :class:`CacheError` if it is not a valid one of our format."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CacheError(f"{path} is not a layersweep embedding file; remove it from the "
                         "embedding cache directory")
    if doc.get("format_version") != FORMAT_VERSION:
        raise CacheError(f"{path} has format version {doc.get('format_version')!r}, this "
                         f"layersweep reads version {FORMAT_VERSION}; delete it and run "
                         "`layersweep embed` again")
    try:
        a, b = int(doc["block"]["a"]), int(doc["block"]["b"])
        n = a + b
        to_chains = lambda rows: {v: tuple(int(q) for q in rows[v]) for v in range(n)}  # noqa: E731
        if len(doc["chains"]) != n:
            raise ValueError(f"{len(doc['chains'])} chains for {n} spins")
        chains = to_chains(doc["chains"])
        tiles = doc.get("tiles", {"complete": False, "copies": []})
        tile_chains = tuple(to_chains(t) for t in tiles["copies"])
        emb = BlockEmbedding(a, b, chains, str(doc["method"]), int(doc["seed"]),
                             float(doc["seconds"]), dict(doc["target"]), source=str(path),
                             origin=str(doc.get("origin", "computed")), tiles=tile_chains,
                             tiles_complete=bool(tiles["complete"]),
                             versions=dict(doc.get("versions", {})),
                             created=str(doc.get("created", "")))
        checksum_ok = doc["checksum"] == _checksum(a, b, emb.fingerprint, emb.copies)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CacheError(f"{path} is a corrupt embedding file ({exc!r}); delete it and run "
                         "`layersweep embed` again") from None
    if not checksum_ok:
        raise CacheError(f"{path}: its chains do not match their checksum (the file was edited "
                         "or corrupted); delete it and run `layersweep embed` again")
    return emb


def _slug(family: str | None, shape) -> str:
    """File-name prefix of a lattice: ``pegasus16``, ``zephyr12x4``, or ``graph`` for none."""
    return f"{family}{'x'.join(map(str, shape))}" if family else "graph"


def _entry_name(summary: dict, a: int, b: int) -> str:
    """Cache file name of K(a, b) on the target described by ``Target.summary()``."""
    return (f"{_slug(summary.get('family'), summary.get('shape'))}-"
            f"{summary['fingerprint'][:12]}-K{a}x{b}.json")


def _user_cache_dir() -> Path:
    """Per-user cache folder: ``$XDG_CACHE_HOME/layersweep/embeddings`` or ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "layersweep" / "embeddings"


def _checkout_store() -> Path | None:
    """``embeddings/`` of the source checkout this package runs from, if it does."""
    root = Path(__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and (root / "embeddings").is_dir():
        return root / "embeddings"
    return None


def _installed_stores() -> list[Path]:
    """The committed embeddings installed with a wheel: ``<prefix>/share/layersweep/embeddings``
    (``[options.data_files]`` in setup.cfg) for the environment's and the user's prefix."""
    import site

    prefixes = [sys.prefix, site.getuserbase()]
    stores = [Path(p) / "share" / "layersweep" / "embeddings" for p in prefixes]
    return [s for s in dict.fromkeys(stores) if s.is_dir()]


def _verify_on_lattice(entry: BlockEmbedding, lattices: dict) -> None:
    """Verify ``entry``'s chains on its target when that target is a lattice this package
    builds (``lattices``: the graphs built so far, by name); else do nothing."""
    name = entry.target.get("name")
    if not entry.target.get("family") or not name:
        return
    if name not in lattices:
        try:
            lattices[name] = parse_topology(name)
        except (ValueError, TypeError):
            lattices[name] = None
    target = lattices[name]
    if target is None or target.fingerprint != entry.fingerprint:
        return
    try:
        _verify_copies(entry.copies, entry.a, entry.b, target)
    except EmbeddingError as exc:
        raise EmbeddingError(f"{entry.source}: {exc}; delete it and run `layersweep embed` "
                             f"again") from None


@dataclass(frozen=True)
class CacheListing:
    """One file of :meth:`EmbeddingCache.list`: its entry, or why it cannot be read."""

    path: Path
    store: str  # "cache" (writable) or "committed" (read-only)
    entry: BlockEmbedding | None
    error: str | None = None


class EmbeddingCache:
    """A directory of embedding files, plus read-only directories searched after it.

    Files are ``<lattice>-<fingerprint[:12]>-K<a>x<b>.json`` (e.g.
    ``pegasus16-5d2ea85cc1a4-K120x40.json``), one per (target fingerprint, a, b). Writes go to
    ``path`` only: a temporary file, fsync, ``os.replace``, under a ``fasteners`` lock file
    ``path/.lock`` so that concurrent writers never leave a partial file.

    Parameters
    ----------
    path
        the writable directory (created on first write).
    read_only
        directories searched after ``path`` (e.g. the committed store of an
        installed wheel); never written.
    """

    def __init__(self, path, *, read_only=()):
        self.path = Path(path)
        self.read_only = [Path(p) for p in read_only]

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r}, read_only={[str(p) for p in self.read_only]})"

    @classmethod
    def default(cls) -> EmbeddingCache:
        """The cache layersweep uses unless told otherwise.

        ``$LAYERSWEEP_EMBEDDINGS`` if set; else the per-user cache folder, where new entries
        go, with the committed embeddings searched after it, read-only: the checkout's
        ``embeddings/`` when running from a source checkout, and those installed under
        ``<prefix>/share/layersweep/embeddings``. Nothing is ever written into the package or
        the repository.
        """
        if os.environ.get(ENV_VAR):
            return cls(os.environ[ENV_VAR])
        checkout = _checkout_store()
        return cls(_user_cache_dir(),
                   read_only=([checkout] if checkout is not None else []) + _installed_stores())

    def check_writable(self) -> None:
        """Refuse, before any search, a cache folder that cannot be created or written: a
        regular file in its path, or a folder without write permission."""
        folder = self.path
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        if not folder.is_dir():
            raise CacheError(f"cannot use {str(self.path)!r} as the embedding cache: "
                             f"{str(folder)!r} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CacheError(f"cannot use {str(self.path)!r} as the embedding cache: "
                             f"{str(folder)!r} is not writable")

    @property
    def dirs(self) -> list[Path]:
        """Directories in lookup order."""
        return [self.path, *self.read_only]

    def filename(self, a: int, b: int, target: Target) -> str:
        """Name of the file of K(a, b) on ``target`` (in any of :attr:`dirs`)."""
        return _entry_name(target.summary(), a, b)

    def get(self, a: int, b: int, target) -> BlockEmbedding | None:
        """The entry of K(a, b) for exactly this target graph, or ``None``.

        Checks format, block, fingerprint and the chains' checksum (about 1 ms for K(120,40));
        the chains were verified with minorminer when stored.

        Raises
        ------
        CacheError
            the file exists but is corrupt, of another format version, or for
            another graph or block than its name says.
        """
        target = resolve_target(target)
        name = self.filename(a, b, target)
        for directory in self.dirs:
            path = directory / name
            if path.is_file():
                entry = self._read(path)
                if entry.fingerprint != target.fingerprint or (entry.a, entry.b) != (a, b):
                    raise CacheError(
                        f"{path} holds K({entry.a},{entry.b}) for target graph "
                        f"{entry.fingerprint[:12]}... ({entry.target.get('name')}), not "
                        f"K({a},{b}) for {target.name} ({target.fingerprint[:12]}...): refusing "
                        "to use a foreign file; delete it")
                return entry
        return None

    def related(self, a: int, b: int, target):
        """Entries of K(a, b) for other graphs of ``target``'s lattice, defect-free ones first.

        Unverified for ``target``: the caller checks them (see :func:`block_embedding`).
        Unreadable files are skipped with a warning.
        """
        target = resolve_target(target)
        exact = self.filename(a, b, target)
        pattern = f"{_slug(target.family, target.shape)}-*-K{a}x{b}.json"
        paths = [p for d in self.dirs for p in sorted(d.glob(pattern)) if p.name != exact]
        entries = []
        for path in paths:
            try:
                entries.append(self._read(path))
            except CacheError as exc:
                warnings.warn(str(exc), stacklevel=2)
        ideal = target.ideal().fingerprint if target.family else None
        entries.sort(key=lambda e: e.fingerprint != ideal)
        return [e for e in entries if (e.a, e.b) == (a, b)
                and e.target.get("family") == target.family]

    def put(self, embedding: BlockEmbedding) -> Path:
        """Store an entry atomically (replacing the entry of the same graph and block)."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / _entry_name(embedding.target, embedding.a, embedding.b)
        text = _dumps(_to_json(embedding))
        with fasteners.InterProcessLock(str(self.path / ".lock")):
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{path.name}.", suffix=".tmp")
            try:
                os.chmod(tmp, 0o644)  # mkstemp makes it private; cache files are shareable
                with os.fdopen(fd, "w") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return path

    def list(self) -> list[CacheListing]:
        """Every embedding file in lookup order, read and checked: an entry for a lattice
        (``pegasus:16``, ...) has its chains verified with minorminer on that graph, as
        training does; one for another graph (a QPU's working graph) is checked against its
        checksum only. A bad file is listed with its error rather than raising."""
        listing, lattices = [], {}
        for directory in self.dirs:
            store = "cache" if directory == self.path else "committed"
            for path in sorted(directory.glob("*.json")):
                try:
                    entry = self._read(path)
                    _verify_on_lattice(entry, lattices)
                    listing.append(CacheListing(path, store, entry))
                except (CacheError, EmbeddingError) as exc:
                    listing.append(CacheListing(path, store, None, str(exc)))
        return listing

    def clear(self) -> int:
        """Delete the writable directory's embedding files; returns how many."""
        removed = 0
        if not self.path.is_dir():
            return 0
        with fasteners.InterProcessLock(str(self.path / ".lock")):
            for path in self.path.glob("*.json"):
                path.unlink()
                removed += 1
        return removed

    @staticmethod
    def _read(path: Path) -> BlockEmbedding:
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CacheError(f"{path} cannot be read as JSON ({exc}); delete it and run "
                             "`layersweep embed` again") from None
        return _from_json(doc, path)


def _adopt(entry: BlockEmbedding, target: Target) -> BlockEmbedding | None:
    """``entry`` (made for another graph of the same lattice) if its chains are valid on
    ``target``, relabelled as verified for ``target``; otherwise ``None``."""
    if not is_valid_embedding(entry.chains, source_graph(entry.a, entry.b), target.graph):
        return None
    return dataclasses.replace(entry, target=target.summary(), source="computed", tiles=(),
                               tiles_complete=False,
                               origin=f"re-verified {Path(entry.source).name}")


def block_embedding(a: int, b: int, target, *, cache: EmbeddingCache | None = None,
                    timeout: float = DEFAULT_TIMEOUT, seed: int = 0) -> BlockEmbedding:
    """The embedding of K(a, b) on ``target``: from the cache, or found, verified and stored.

    Order: the entry for this exact graph (fingerprint); else an entry of another working graph
    of the same lattice (e.g. the committed defect-free ``pegasus:16``) whose chains minorminer
    verifies on this graph; else :func:`find_block_embedding`. Found or re-verified embeddings
    are stored so that the next lookup is a single file read (~1 ms).

    Parameters
    ----------
    cache
        where to look and store; ``None`` means :meth:`EmbeddingCache.default`.
    target, timeout, seed
        as in :func:`find_block_embedding`.
    """
    target = resolve_target(target)
    cache = EmbeddingCache.default() if cache is None else cache
    found = cached_block_embedding(a, b, target, cache)
    if found is None:
        found = find_block_embedding(a, b, target, timeout=timeout, seed=seed)
        cache.put(found)
    return found


def cached_block_embedding(a: int, b: int, target: Target,
                           cache: EmbeddingCache) -> BlockEmbedding | None:
    """The cache's embedding of K(a, b) on ``target`` (its own entry, or a re-verified entry
    of another graph of the lattice, then stored), or ``None``: no search."""
    hit = cache.get(a, b, target)
    if hit is not None:
        try:
            _verify_copies(hit.copies, a, b, target)
        except EmbeddingError as exc:
            raise CacheError(f"{hit.source}: {exc}; the file was edited or damaged after it "
                             f"was verified: delete it and run `layersweep embed` again") from None
        return hit
    for entry in cache.related(a, b, target):
        adopted = _adopt(entry, target)
        if adopted is not None:
            cache.put(adopted)
            return adopted
    return None
