"""The persisted index: documents, chunks, dense (FAISS) and lexical (BM25) indexes.

Layout under the index dir (default settings.index_dir)::

    index/
      CURRENT                 name of the live generation, e.g. "gen-20240101T120000Z-3f9a1c"
      gen-…/manifest.json     format version, embedder id+dim, chunker version,
                              corpus hash, counts, creation time, sha256 of every file
      gen-…/documents.json    [Document.to_dict()]
      gen-…/chunks.json       [Chunk.to_dict()], row i = id i in both indexes
      gen-…/dense/            dense.faiss, dense_meta.json
      gen-…/bm25/             bm25s files, bm25_meta.json
      cache/                  the embedding cache (not touched here)

Atomic save: everything is written into `.tmp-gen-…` inside the index dir and
fsynced, the dir is renamed to `gen-…`, then CURRENT is replaced with
os.replace (atomic on POSIX and Windows) and fsynced; only then are older
generations deleted. A process killed at any point leaves CURRENT naming a
complete generation. (Renaming the whole index dir away and back would leave
a moment with no index at all, and would move cache/ with it.)

Load resolves CURRENT (or accepts a generation dir directly), checks the
manifest against the expected embedder/chunker, verifies every file's size and
sha256, and raises IndexMissing / IndexCorrupt / IndexMismatch with a message
that says to run `qa index` — never returns an index that does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from qa.index.base import LoadedIndex
from qa.index.dense import DenseIndex
from qa.index.lexical import BM25Index
from qa.models import Chunk, Document

FORMAT = "policy-qa-index"
FORMAT_VERSION = 1
POINTER = "CURRENT"
_GEN = re.compile(r"^gen-[0-9TZ]+-[0-9a-f]{6}$")
_HINT = "请运行 `qa index` 重建索引 / run `qa index` to (re)build it."


class IndexStoreError(Exception):
    """Base of every index load/save problem (not named IndexError: that would shadow the builtin)."""


class IndexMissing(IndexStoreError):
    """No index has been built at this location."""


class IndexCorrupt(IndexStoreError):
    """The index exists but a file is missing, truncated, altered or unreadable."""


class IndexMismatch(IndexStoreError):
    """The index was built by another embedder, chunker or index format version."""


def corpus_hash(chunks: list[Chunk]) -> str:
    """Identifies the indexed content: chunk ids and the text that was embedded, in order."""
    h = hashlib.sha256()
    for c in chunks:
        h.update(c.chunk_id.encode("utf-8") + b"\0" + c.embed_text().encode("utf-8") + b"\n")
    return h.hexdigest()


def new_manifest(documents: list[Document], chunks: list[Chunk], embedder_id: str, chunker_version: str, dim: int,
                 dense_kind: str, extra: dict[str, Any], store: str | None = None, **more: Any) -> dict[str, Any]:
    """A new generation's manifest, whichever backend writes it; `more` (the file list, the Milvus
    options) comes before "extra"."""
    manifest: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    if store is not None:
        manifest["store"] = store
    manifest.update({
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder_id": embedder_id,
        "embedder_dim": dim,
        "chunker_version": chunker_version,
        "corpus_hash": corpus_hash(chunks),
        "document_count": len(documents),
        "chunk_count": len(chunks),
        "dense_kind": dense_kind,
        **more,
        "extra": extra,
    })  # fmt: skip
    return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_path(path: Path) -> None:
    """fsync a file or directory (directories: POSIX only; Windows cannot open them)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, separators=(",", ":"))


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Exclusive writer lock, so two concurrent `qa index` runs cannot interleave their swaps."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; the swap itself is still atomic
        yield
        return
    with open(directory / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _rebuild(cls: type, rows: list[dict[str, Any]]) -> list[Any]:
    names = {f.name for f in fields(cls)}
    out = []
    for row in rows:
        unknown = set(row) - names
        if unknown:
            raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
        out.append(cls(**row))
    return out


@dataclass
class IndexStore(LoadedIndex[DenseIndex, BM25Index]):
    """Everything retrieval needs, loaded together so the pieces always agree."""

    path: Path | None = None  # the generation dir it was loaded from / saved to

    @property
    def generation(self) -> str:
        """Name of the generation loaded (its directory name)."""
        return self.path.name if self.path is not None else ""

    # persistence
    def save(self, directory: Path | str, extra: dict[str, Any] | None = None) -> Path:
        """Write a new generation atomically and make it current; returns its dir."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.dense.size != len(self.chunks) or self.bm25.size != len(self.chunks):
            raise ValueError(
                f"index parts disagree: {len(self.chunks)} chunks, dense {self.dense.size}, bm25 {self.bm25.size}"
            )
        with _locked(directory):
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            gen = f"gen-{stamp}-{secrets.token_hex(3)}"
            tmp = directory / f".tmp-{gen}"
            tmp.mkdir()
            try:
                self._write_generation(tmp, extra or {})
                os.rename(tmp, directory / gen)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _fsync_path(directory)
            pointer_tmp = directory / f".{POINTER}.tmp"
            with open(pointer_tmp, "w", encoding="utf-8") as fh:
                fh.write(gen + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(pointer_tmp, directory / POINTER)
            _fsync_path(directory)
            self._remove_stale(directory, keep=gen)
        self.path = directory / gen
        return self.path

    def _write_generation(self, tmp: Path, extra: dict[str, Any]) -> None:
        _write_json(tmp / "documents.json", [d.to_dict() for d in self.documents])
        _write_json(tmp / "chunks.json", [c.to_dict() for c in self.chunks])
        self.dense.save(tmp / "dense")
        self.bm25.save(tmp / "bm25")
        files: dict[str, dict[str, Any]] = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                _fsync_path(p)
                files[p.relative_to(tmp).as_posix()] = {"sha256": _sha256(p), "bytes": p.stat().st_size}
        for d in [tmp / "dense", tmp / "bm25", tmp]:
            _fsync_path(d)
        manifest = new_manifest(self.documents, self.chunks, self.embedder_id, self.chunker_version, self.dense.dim,
                                self.dense.kind, extra, files=files)  # fmt: skip
        with open(tmp / "manifest.json", "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_path(tmp)
        self.manifest = manifest

    @staticmethod
    def _remove_stale(directory: Path, keep: str) -> None:
        for p in directory.iterdir():
            if p.name != keep and p.is_dir() and (_GEN.match(p.name) or p.name.startswith(".tmp-gen-")):
                shutil.rmtree(p, ignore_errors=True)

    @staticmethod
    def resolve(directory: Path | str) -> Path:
        """The generation dir holding the live index (raises IndexMissing / IndexCorrupt)."""
        directory = Path(directory)
        if (directory / "manifest.json").is_file():
            return directory  # a generation dir given directly
        pointer = directory / POINTER
        if not pointer.is_file():
            raise IndexMissing(f"索引不存在 / no index found at {directory}. {_HINT}")
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexCorrupt(f"索引指针不可读 / unreadable index pointer {pointer}: {exc}. {_HINT}") from exc
        if not _GEN.match(name):
            raise IndexCorrupt(f"索引指针损坏 / corrupt index pointer {pointer}: {name!r}. {_HINT}")
        gen = directory / name
        if not gen.is_dir():
            raise IndexCorrupt(f"索引目录缺失 / index generation {gen} is missing. {_HINT}")
        return gen

    @classmethod
    def read_manifest(cls, directory: Path | str) -> dict[str, Any]:
        """The live index's manifest (raises like `load`, without reading the index files)."""
        return cls._manifest_at(cls.resolve(directory))

    @staticmethod
    def _manifest_at(gen: Path) -> dict[str, Any]:
        path = gen / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"索引清单缺失 / index manifest missing: {path}. {_HINT}") from exc
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"索引清单损坏 / index manifest unreadable: {path}: {exc}. {_HINT}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"不是本系统的索引 / not a policy-qa index: {path}. {_HINT}")
        return manifest

    @classmethod
    def check_manifest(
        cls,
        manifest: dict[str, Any],
        expected_embedder_id: str | None = None,
        expected_chunker_version: str | None = None,
    ) -> None:
        """Raise IndexMismatch if the index was built by something else than expected."""
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatch(
                f"索引格式版本不符 / index format version {manifest.get('format_version')} "
                f"!= {FORMAT_VERSION}. {_HINT}"
            )
        if expected_embedder_id is not None and manifest.get("embedder_id") != expected_embedder_id:
            raise IndexMismatch(
                f"索引由另一个嵌入模型建立 / index was built with embedder {manifest.get('embedder_id')!r}, "
                f"but {expected_embedder_id!r} is configured. {_HINT}"
            )
        if expected_chunker_version is not None and manifest.get("chunker_version") != expected_chunker_version:
            raise IndexMismatch(
                f"索引由另一版本的分块器建立 / index was built with chunker version "
                f"{manifest.get('chunker_version')!r}, current is {expected_chunker_version!r}. {_HINT}"
            )

    @classmethod
    def load(
        cls,
        directory: Path | str,
        expected_embedder_id: str | None = None,
        expected_chunker_version: str | None = None,
        verify: bool = True,
    ) -> "IndexStore":
        """Load the live index; `verify` checks every file's sha256 (a few ms for the seed corpus)."""
        directory = Path(directory)
        before = cls._pointer(directory)
        try:
            return cls._load(directory, expected_embedder_id, expected_chunker_version, verify)
        except IndexCorrupt:
            # a concurrent `qa index` may have swapped generations while we read: retry once
            if before is None or cls._pointer(directory) == before:
                raise
            return cls._load(directory, expected_embedder_id, expected_chunker_version, verify)

    @staticmethod
    def _pointer(directory: Path) -> str | None:
        try:
            return (directory / POINTER).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    @classmethod
    def _load(
        cls, directory: Path, expected_embedder_id: str | None, expected_chunker_version: str | None, verify: bool
    ) -> "IndexStore":
        gen = cls.resolve(directory)
        manifest = cls._manifest_at(gen)
        cls.check_manifest(manifest, expected_embedder_id, expected_chunker_version)
        files = manifest.get("files") or {}
        for name in ("documents.json", "chunks.json", "dense/dense.faiss", "bm25/bm25_meta.json"):
            if name not in files:
                raise IndexCorrupt(f"索引清单不完整 / manifest does not list {name} in {gen}. {_HINT}")
        for name, info in files.items():
            p = gen / name
            if not p.is_file():
                raise IndexCorrupt(f"索引文件缺失 / index file missing: {p}. {_HINT}")
            size = p.stat().st_size
            if size != info.get("bytes"):
                raise IndexCorrupt(
                    f"索引文件被截断或修改 / index file truncated or altered: {p} "
                    f"({size} bytes, expected {info.get('bytes')}). {_HINT}"
                )
            if verify and _sha256(p) != info.get("sha256"):
                raise IndexCorrupt(f"索引文件校验失败 / index file checksum mismatch: {p}. {_HINT}")
        try:
            documents = _rebuild(Document, json.loads((gen / "documents.json").read_text(encoding="utf-8")))
            chunks = _rebuild(Chunk, json.loads((gen / "chunks.json").read_text(encoding="utf-8")))
        except TypeError as exc:  # the record schema changed since the index was built
            raise IndexMismatch(f"索引由旧版本建立 / index records do not match this version: {exc}. {_HINT}") from exc
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"索引记录不可读 / index records unreadable in {gen}: {exc}. {_HINT}") from exc
        try:
            dense = DenseIndex.load(gen / "dense")
            bm25 = BM25Index.load(gen / "bm25")
        except Exception as exc:  # noqa: BLE001 - faiss/bm25s raise assorted types on bad files
            raise IndexCorrupt(f"索引文件不可读 / index files unreadable in {gen}: {exc}. {_HINT}") from exc
        n = len(chunks)
        if dense.size != n or bm25.size != n or manifest.get("chunk_count") != n:
            raise IndexCorrupt(
                f"索引各部分不一致 / index parts disagree in {gen}: {n} chunks, dense {dense.size}, "
                f"bm25 {bm25.size}, manifest {manifest.get('chunk_count')}. {_HINT}"
            )
        if dense.dim != manifest.get("embedder_dim"):
            raise IndexCorrupt(f"向量维度不符 / vector dim {dense.dim} != manifest {manifest.get('embedder_dim')}. {_HINT}")
        return cls(
            documents=documents,
            chunks=chunks,
            dense=dense,
            bm25=bm25,
            embedder_id=manifest["embedder_id"],
            chunker_version=manifest["chunker_version"],
            manifest=manifest,
            path=gen,
        )


class FileBackend:
    """The default store: FAISS + bm25s files under settings.index_dir (see the module doc)."""

    name = "faiss"

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.directory = Path(settings.index_dir)

    def write(self, content: Any) -> Any:  # IndexContent -> WriteResult (qa.index.base)
        import time

        from qa.index.base import WriteResult

        timings: dict[str, float] = {}
        t = time.perf_counter()
        dense = DenseIndex(hnsw_threshold=self.settings.flat_index_max).index(content.vectors)
        timings["dense"] = time.perf_counter() - t
        t = time.perf_counter()
        bm25 = BM25Index().index_tokens(content.terms)
        timings["bm25"] = time.perf_counter() - t
        t = time.perf_counter()
        store = IndexStore(
            documents=content.documents,
            chunks=content.chunks,
            dense=dense,
            bm25=bm25,
            embedder_id=content.embedder_id,
            chunker_version=content.chunker_version,
        )
        path = store.save(self.directory, extra=content.extra)
        timings["save"] = time.perf_counter() - t
        return WriteResult(generation=path.name, path=path, dense_kind=dense.kind, timings=timings)

    def load(self, expected_embedder_id: str | None = None, expected_chunker_version: str | None = None) -> IndexStore:
        return IndexStore.load(self.directory, expected_embedder_id, expected_chunker_version)

    def read_manifest(self) -> dict[str, Any]:
        return IndexStore.read_manifest(self.directory)

    def live_generation(self) -> str | None:
        pointer = IndexStore._pointer(self.directory)
        return pointer.strip() if pointer else None


def load_index(settings: Any, embedder: Any = None, verify: bool = True) -> IndexStore:
    """Load settings.index_dir, insisting it was built with the configured embedder and current chunker.

    `embedder` (a qa.embed.Embedder) avoids building a second one when the caller already has it;
    for the default e5 embedder, computing its id does not load the model.
    """
    from qa.embed.base import make_embedder

    emb = embedder if embedder is not None else make_embedder(settings.embedder, settings)
    return IndexStore.load(
        settings.index_dir,
        expected_embedder_id=emb.id,
        expected_chunker_version=current_chunker_version(),
        verify=verify,
    )


def current_chunker_version() -> str:
    """qa.chunk.CHUNKER_VERSION (what new chunks would be made with)."""
    from qa.chunk import CHUNKER_VERSION

    return str(CHUNKER_VERSION)
