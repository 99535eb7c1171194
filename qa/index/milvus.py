"""The Milvus store (`QA_VECTOR_STORE=milvus`): vectors, article text and filter metadata in Milvus.

Same code for a local Milvus Lite file (`QA_MILVUS_URI` empty → <index_dir>/milvus.db; one process
only: Milvus Lite locks its data directory) and for a Milvus server or cluster
(`QA_MILVUS_URI=http://host:19530`, `QA_MILVUS_TOKEN`), which several `qa serve` replicas share.

Layout, one generation per `qa index` run::

    <alias>_<stamp>_<hex>        chunks: row (primary key = row position), vector, chunk_id, doc_id,
                                 region, date, effective/expiry/repealed dates, text (the article),
                                 record (the rest of the Chunk), terms (its BM25 terms)
                                 [+ bm25_text / sparse: Milvus's BM25 function, QA_MILVUS_BM25=1]
    <alias>_<stamp>_<hex>_docs   documents (record JSON, region, date, validity dates) and the manifest
    alias <alias>                → the live chunks collection

A generation is written completely (inserted, flushed, indexed, loaded) before the alias is
moved to it in one call, which is Milvus's atomic switch; readers resolve the alias once and then
read that generation's collections by name, so a load never mixes two generations. The previous
generation is kept (replicas still on it keep answering until they reload, see qa.index.watch);
older ones are dropped.

Filters (region, document, date, in force) run inside Milvus as filter expressions (`selection_expr`).
Lexical retrieval stays beside Milvus by default: each process builds bm25s from the stored terms
at load, so scores equal the FAISS path's. Milvus's own BM25 function with its jieba analyzer is
available (`milvus_bm25`) but measured worse on the gold set (docs/BENCHMARKS.md, "Milvus").
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from qa.index.base import IndexContent, LoadedIndex, Selection, WriteResult
from qa.index.lexical import STOPWORDS_ZH, BM25Index, as_mask
from qa.index.store import (
    FORMAT,
    IndexCorrupt,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    _locked,
    _rebuild,
    corpus_hash,
    new_manifest,
)
from qa.models import Chunk, Document

_HINT = "请运行 `QA_VECTOR_STORE=milvus qa index` / run `QA_VECTOR_STORE=milvus qa index` to (re)build it."
MANIFEST_KEY = "__manifest__"
_TEXT_MAX = 65_535  # Milvus VARCHAR limit (bytes)
_INSERT_BATCH = 2_000
_READ_BATCH = 5_000
_MAX_TOPK = 16_384  # Milvus's limit on a search's limit


class StoreUnavailable(IndexStoreError):
    """Milvus cannot be reached (server down, bad URI or token, Lite file held by another process)."""


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression (JSON escaping is valid there)."""
    return json.dumps(value, ensure_ascii=False)


def selection_expr(sel: Selection | None) -> str:
    """The Milvus filter expression for a Selection ('' = no filter)."""
    if sel is None or sel.is_empty():
        return ""
    parts: list[str] = []
    if sel.doc_ids is not None:
        if not sel.doc_ids:
            return "row < 0"  # nothing allowed; `doc_id in []` is rejected by some versions
        parts.append(f"doc_id in [{', '.join(quote(d) for d in sel.doc_ids)}]")
    if sel.regions:
        parts.append(f"region in [{', '.join(quote(r) for r in sel.regions)}]")
    if sel.date_from or sel.date_to:
        # ISO dates compare as strings; "" (no date) is outside every range, as in the FAISS path
        parts.append('date != ""')
        if sel.date_from:
            parts.append(f"date >= {quote(sel.date_from)}")
        if sel.date_to:
            parts.append(f"date <= {quote(sel.date_to)}")
    return " and ".join(parts)


@dataclass(frozen=True)
class MilvusConfig:
    uri: str
    token: str = ""
    alias: str = "policy_qa"
    bm25: bool = False  # lexical through Milvus's BM25 function instead of bm25s beside it
    flat_index_max: int = 200_000  # above this, HNSW (as the FAISS path)
    lock_dir: Path | None = None  # where the writer lock file lives (index_dir)

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def release_lite(uri: str) -> None:
    """Stop this process's Milvus Lite server for `uri` (pymilvus starts one per .db path), so that
    another process can open the file."""
    try:
        from milvus_lite import server_manager_instance
    except ImportError:
        return
    server_manager_instance.release_server(uri)


def _connect(cfg: MilvusConfig) -> Any:
    """A MilvusClient, or StoreUnavailable with a message a person can act on."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise StoreUnavailable(
            "未安装 Milvus 客户端 / pymilvus is not installed: pip install -e '.[milvus]' "
            "(or set QA_VECTOR_STORE=faiss)"
        ) from exc
    if cfg.is_lite:
        Path(cfg.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=cfg.uri, token=cfg.token, timeout=30)
    except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException / ConnectionConfigException / grpc errors
        why = (
            "Milvus Lite 文件只能由一个进程打开 / a Milvus Lite file can be opened by one process only; "
            "for replicas run a Milvus server (or `milvus-lite server`) and set QA_MILVUS_URI=http://host:19530"
            if cfg.is_lite
            else "请检查 QA_MILVUS_URI / QA_MILVUS_TOKEN 与服务状态 / check QA_MILVUS_URI, QA_MILVUS_TOKEN and the server"
        )
        raise StoreUnavailable(f"无法连接 Milvus / cannot open Milvus at {cfg.uri}: {exc}. {why}") from exc


def _pk(hit: Any) -> int:
    """A search hit's row (pymilvus names the key by the primary field, older ones `id`)."""
    try:
        return int(hit["row"])
    except KeyError:
        return int(hit["id"])


class MilvusDense:
    """Vector search in one generation's chunks collection; ids are row positions (the primary key)."""

    def __init__(self, client: Any, collection: str, size: int, dim: int, kind: str, ef: int = 128) -> None:
        self.client = client
        self.collection = collection
        self._size = size
        self.dim = dim
        self._kind = kind
        self.ef = ef

    @property
    def size(self) -> int:
        return self._size

    @property
    def kind(self) -> str:
        return self._kind

    def retrieve(
        self,
        query_vec: np.ndarray,
        k: int = 10,
        allowed: np.ndarray | list[int] | None = None,
        selection: Selection | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (rows, inner products) inside Milvus, filtered there by `selection` as an expression.

        A bare `allowed` mask without a selection becomes a `row in [...]` expression (exact, but
        long: the retriever always sends the selection)."""
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if self._size == 0 or k <= 0:
            return empty
        q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector has dimension {q.shape[0]}, index has {self.dim}")
        mask = as_mask(allowed, self._size)
        expr = selection_expr(selection)
        if not expr and mask is not None:
            rows = np.flatnonzero(mask)
            if rows.size == 0:
                return empty
            expr = f"row in [{', '.join(str(int(r)) for r in rows)}]"
        params: dict[str, Any] = {"metric_type": "IP"}
        if self._kind == "hnsw":
            params["params"] = {"ef": max(self.ef, 2 * k)}
        res = self.client.search(
            self.collection, data=[q.tolist()], anns_field="vector", limit=min(k, self._size, _MAX_TOPK),
            filter=expr, search_params=params, output_fields=["row"],  # only the key: Milvus Lite returns every field otherwise
        )
        hits = list(res[0]) if res else []
        ids = np.array([_pk(h) for h in hits], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
        if mask is not None and ids.size:  # the expression and the mask say the same; never return a disallowed row
            keep = mask[ids]
            ids, scores = ids[keep], scores[keep]
        return ids, scores

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        rows = [int(i) for i in np.asarray(ids).reshape(-1)]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        got = self.client.query(self.collection, filter=f"row in [{', '.join(map(str, rows))}]", output_fields=["row", "vector"])
        by_row = {int(r["row"]): r["vector"] for r in got}
        missing = [r for r in rows if r not in by_row]
        if missing:
            raise IndexCorrupt(f"Milvus 缺少向量 / rows {missing[:5]} missing from {self.collection}. {_HINT}")
        return np.asarray([by_row[r] for r in rows], dtype=np.float32)


class MilvusBM25:
    """BM25 through Milvus's own BM25 function (jieba analyzer): the alternative that was measured.

    `scores` asks Milvus for the best `size` rows (at most 16,384, Milvus's limit) and returns a
    full score vector, zeros for the rest, so the retriever runs unchanged. Milvus Lite reports
    BM25 as a negative distance and Milvus as a positive score; the magnitude is the score.
    """

    def __init__(self, client: Any, collection: str, size: int, vocabulary: set[str]) -> None:
        self.client = client
        self.collection = collection
        self.size = size
        self._vocabulary = vocabulary

    def vocabulary(self) -> set[str]:
        return self._vocabulary

    def scores(self, query: str | list[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        text = query if isinstance(query, str) else " ".join(query)
        if not text.strip() or not self.size:
            return out
        res = self.client.search(
            self.collection, data=[text], anns_field="sparse", limit=min(self.size, _MAX_TOPK),
            search_params={"metric_type": "BM25"}, output_fields=["row"],
        )
        for h in res[0] if res else []:
            out[_pk(h)] = abs(float(h["distance"]))
        return out


@dataclass
class MilvusStore(LoadedIndex[MilvusDense, Any]):  # bm25: BM25Index (default) or MilvusBM25
    """A loaded Milvus generation: the same attributes retrieval reads from an IndexStore."""

    collection: str = ""
    path: Path | None = None  # no directory: the generation lives in Milvus

    @property
    def generation(self) -> str:
        return self.collection


def _day(value: str | None) -> str:
    return value or ""


def _check_len(value: str, what: str) -> str:
    if len(value.encode("utf-8")) > _TEXT_MAX:
        raise IndexStoreError(f"{what} 超过 Milvus 字段上限 / longer than Milvus's {_TEXT_MAX}-byte VARCHAR limit")
    return value


class MilvusBackend:
    """Writes, finds and loads generations in Milvus (see the module doc)."""

    name = "milvus"

    def __init__(self, cfg: MilvusConfig) -> None:
        self.cfg = cfg
        self._client: Any = None
        self._loaded: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Any) -> "MilvusBackend":
        uri = (settings.milvus_uri or "").strip() or str(Path(settings.index_dir) / "milvus.db")
        alias = settings.milvus_collection or "policy_qa"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,150}", alias):
            raise IndexStoreError(f"QA_MILVUS_COLLECTION {alias!r}: letters, digits and _ only, not starting with a digit")
        return cls(
            MilvusConfig(
                uri=uri, token=settings.milvus_token, alias=alias, bm25=bool(settings.milvus_bm25),
                flat_index_max=int(settings.flat_index_max), lock_dir=Path(settings.index_dir),
            )
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _connect(self.cfg)
        return self._client

    def close(self) -> None:
        """Disconnect; for a Lite file also stop this process's Lite server, so that another process
        can open the file (only when nothing else in this process still reads it)."""
        if self._client is None:
            return
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        self._client = None
        self._loaded.clear()
        if self.cfg.is_lite:
            release_lite(self.cfg.uri)

    # ---- finding the live generation ------------------------------------------------------
    def live_generation(self) -> str | None:
        client = self.client
        try:
            # list first: describing a missing alias is an RPC error that pymilvus logs with a traceback
            if self.cfg.alias not in client.list_aliases().get("aliases", []):
                return None
            return str(client.describe_alias(self.cfg.alias)["collection_name"])
        except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException / grpc errors
            raise StoreUnavailable(f"无法读取 Milvus 别名 / cannot read alias {self.cfg.alias!r} at {self.cfg.uri}: {exc}") from exc

    def _ensure_loaded(self, gen: str) -> None:
        """Load a generation's collections into memory (Milvus Lite starts with them released;
        on a server this is a no-op once some replica has loaded them)."""
        if gen in self._loaded:
            return
        for name in (gen, gen + "_docs"):
            self.client.load_collection(name)
        self._loaded.add(gen)

    def _live(self) -> str:
        gen = self.live_generation()
        if not gen:
            raise IndexMissing(f"Milvus 中没有索引 / no index in Milvus at {self.cfg.uri} (alias {self.cfg.alias!r}). {_HINT}")
        return gen

    def read_manifest(self) -> dict[str, Any]:
        return self._manifest_of(self._live())

    def _manifest_of(self, gen: str) -> dict[str, Any]:
        try:
            self._ensure_loaded(gen)
            rows = self.client.query(gen + "_docs", filter=f"key == {quote(MANIFEST_KEY)}", output_fields=["record"])
        except Exception as exc:  # noqa: BLE001
            raise IndexCorrupt(f"索引清单不可读 / manifest of {gen} unreadable: {exc}. {_HINT}") from exc
        if not rows:
            raise IndexCorrupt(f"索引清单缺失 / manifest of {gen} missing. {_HINT}")
        manifest = json.loads(rows[0]["record"])
        if manifest.get("format") != FORMAT:
            raise IndexCorrupt(f"不是本系统的索引 / {gen} is not a policy-qa index. {_HINT}")
        return manifest

    # ---- writing ------------------------------------------------------------------------
    def write(self, content: IndexContent) -> WriteResult:
        n, dim = int(content.vectors.shape[0]), int(content.vectors.shape[1])
        if n != len(content.chunks) or len(content.terms) != n:
            raise ValueError(f"index parts disagree: {len(content.chunks)} chunks, {n} vectors, {len(content.terms)} term lists")
        timings: dict[str, float] = {}
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        gen = f"{self.cfg.alias}_{stamp}_{secrets.token_hex(3)}"
        kind = "hnsw" if n > self.cfg.flat_index_max else "flat"
        t = time.perf_counter()
        self._create(gen, content, dim, kind)
        timings["milvus_insert"] = time.perf_counter() - t
        t = time.perf_counter()
        self._switch(gen)
        timings["milvus_swap"] = time.perf_counter() - t
        return WriteResult(generation=gen, path=None, dense_kind=kind, timings=timings)

    def _chunks_schema(self, dim: int, kind: str) -> tuple[Any, Any]:
        """(schema, index params) of a generation's chunks collection."""
        from pymilvus import DataType, Function, FunctionType

        client = self.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description="policy-qa chunks")
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        for name, length in (("chunk_id", 512), ("doc_id", 512), ("region", 256), ("date", 16),
                             ("effective_date", 16), ("expiry_date", 16), ("repealed_on", 16)):
            schema.add_field(name, DataType.VARCHAR, max_length=length)
        for name in ("text", "record", "terms"):
            schema.add_field(name, DataType.VARCHAR, max_length=_TEXT_MAX)
        index = client.prepare_index_params()
        if kind == "hnsw":
            index.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 200})
        else:
            index.add_index("vector", index_type="FLAT", metric_type="IP")
        if self.cfg.bm25:
            # jieba in search mode, as our tokenizer; the same stop words, so only the analyzer differs
            analyzer = {"tokenizer": {"type": "jieba", "mode": "search"},
                        "filter": [{"type": "stop", "stop_words": sorted(STOPWORDS_ZH)}]}
            schema.add_field("bm25_text", DataType.VARCHAR, max_length=_TEXT_MAX, enable_analyzer=True, analyzer_params=analyzer)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["bm25_text"], output_field_names=["sparse"]))
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        return schema, index

    def _docs_schema(self) -> tuple[Any, Any]:
        """(schema, index params) of a generation's documents collection (which holds the manifest too)."""
        from pymilvus import DataType

        client = self.client
        docs_schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description="policy-qa documents")
        docs_schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=512)
        docs_schema.add_field("ord", DataType.INT64)  # ingest order (-1: the manifest row)
        docs_schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus requires one; unused
        for name, length in (("kind", 16), ("region", 256), ("date", 16), ("effective_date", 16), ("expiry_date", 16)):
            docs_schema.add_field(name, DataType.VARCHAR, max_length=length)
        docs_schema.add_field("record", DataType.VARCHAR, max_length=_TEXT_MAX)
        docs_index = client.prepare_index_params()
        docs_index.add_index("vector", index_type="FLAT", metric_type="L2")
        return docs_schema, docs_index

    def _create(self, gen: str, content: IndexContent, dim: int, kind: str) -> None:
        """The generation's two collections, filled, flushed and loaded; dropped again on any failure."""
        client = self.client
        schema, index = self._chunks_schema(dim, kind)
        docs_schema, docs_index = self._docs_schema()
        try:
            client.create_collection(gen, schema=schema, index_params=index, consistency_level="Strong")
            client.create_collection(gen + "_docs", schema=docs_schema, index_params=docs_index, consistency_level="Strong")
            docs = {d.doc_id: d for d in content.documents}
            self._insert_chunks(gen, content, docs)
            manifest = self._manifest(content, dim, kind)
            self._insert_docs(gen + "_docs", content.documents, manifest)
            for name in (gen, gen + "_docs"):
                client.flush(name)
                client.load_collection(name)
        except BaseException:
            self._drop(gen)
            raise

    def _switch(self, gen: str) -> None:
        """Point the alias at `gen` (Milvus's atomic switch) and drop all but it and the one before."""
        with _locked(self.cfg.lock_dir) if self.cfg.lock_dir else _nolock():
            previous = self.live_generation()
            if previous:
                self.client.alter_alias(gen, self.cfg.alias)
            else:
                self.client.create_alias(gen, self.cfg.alias)
            self._drop_stale(keep={gen, previous or ""})

    def _insert_chunks(self, gen: str, content: IndexContent, docs: dict[str, Document]) -> None:
        rows: list[dict[str, Any]] = []
        for i, (c, vec, terms) in enumerate(zip(content.chunks, content.vectors, content.terms)):
            d = docs.get(c.doc_id)
            v = d.validity if d is not None else None
            record = {k: val for k, val in asdict(c).items() if k != "text"}
            row = {
                "row": i,
                "vector": vec.tolist(),
                "chunk_id": c.chunk_id,
                "doc_id": c.doc_id,
                "region": (d.region if d else None) or "",
                "date": _day(d.date if d else None),
                "effective_date": _day(v.effective_date if v else (d.effective_date if d else None)),
                "expiry_date": _day(v.expiry_date if v else (d.expiry_date if d else None)),
                "repealed_on": _day(v.repealed_on if v else None),
                "text": _check_len(c.text, f"分块 / chunk {c.chunk_id}"),
                "record": _check_len(json.dumps(record, ensure_ascii=False), f"分块 / chunk {c.chunk_id}"),
                # terms are joined by a space, which jieba never puts inside a term
                "terms": _check_len(" ".join(terms), f"分块词项 / chunk terms {c.chunk_id}"),
            }
            if self.cfg.bm25:
                row["bm25_text"] = _check_len(c.embed_text(), f"分块 / chunk {c.chunk_id}")
            rows.append(row)
            if len(rows) >= _INSERT_BATCH:
                self.client.insert(gen, rows)
                rows = []
        if rows:
            self.client.insert(gen, rows)

    def _insert_docs(self, name: str, documents: list[Document], manifest: dict[str, Any]) -> None:
        rows = [{"key": MANIFEST_KEY, "ord": -1, "vector": [0.0, 0.0], "kind": "manifest", "region": "", "date": "",
                 "effective_date": "", "expiry_date": "", "record": json.dumps(manifest, ensure_ascii=False)}]
        for i, d in enumerate(documents):
            v = d.validity
            rows.append({
                "key": d.doc_id, "ord": i, "vector": [0.0, 0.0], "kind": "document", "region": d.region or "", "date": _day(d.date),
                "effective_date": _day(v.effective_date if v else d.effective_date),
                "expiry_date": _day(v.expiry_date if v else d.expiry_date),
                "record": _check_len(json.dumps(d.to_dict(), ensure_ascii=False), f"文件 / document {d.doc_id}"),
            })
        for i in range(0, len(rows), _INSERT_BATCH):
            self.client.insert(name, rows[i : i + _INSERT_BATCH])

    def _manifest(self, content: IndexContent, dim: int, kind: str) -> dict[str, Any]:
        return new_manifest(content.documents, content.chunks, content.embedder_id, content.chunker_version, dim, kind,
                            content.extra, store="milvus", milvus_bm25=self.cfg.bm25)  # fmt: skip

    def _drop(self, gen: str) -> None:
        for name in (gen, gen + "_docs"):
            try:
                if self.client.has_collection(name):
                    self.client.drop_collection(name)
            except Exception:  # noqa: BLE001 - best effort: a failed build must not hide its own error
                pass

    def _drop_stale(self, keep: set[str]) -> None:
        """Drop generations other than the live one and the one before it (replicas may still read it)."""
        pattern = re.compile(re.escape(self.cfg.alias) + r"_\d{8}T\d{6}Z_[0-9a-f]{6}")
        for name in self.client.list_collections():
            if pattern.fullmatch(name) and name not in keep:
                self._drop(name)

    # ---- loading ------------------------------------------------------------------------
    def load(self, expected_embedder_id: str | None = None, expected_chunker_version: str | None = None) -> MilvusStore:
        gen = self._live()
        try:
            return self._load(gen, expected_embedder_id, expected_chunker_version)
        except IndexCorrupt:
            # `qa index` may have moved the alias and dropped this generation while we read: retry once
            if self.live_generation() == gen:
                raise
            return self._load(self._live(), expected_embedder_id, expected_chunker_version)

    def _load(self, gen: str, expected_embedder_id: str | None, expected_chunker_version: str | None) -> MilvusStore:
        manifest = self._manifest_of(gen)
        IndexStore.check_manifest(manifest, expected_embedder_id, expected_chunker_version)
        n = int(manifest["chunk_count"])
        try:
            chunk_rows = self._read_all(gen, n, "row", ["row", "text", "record", "terms"])
            doc_rows = self._read_all(gen + "_docs", int(manifest["document_count"]), "ord", ["ord", "record"])
            chunk_dicts = [{**json.loads(r["record"]), "text": r["text"]} for r in chunk_rows]
            chunks = _rebuild(Chunk, chunk_dicts)
            documents = _rebuild(Document, [json.loads(r["record"]) for r in doc_rows])
        except IndexStoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dropped collection, bad JSON, a schema change
            raise IndexCorrupt(f"Milvus 索引不可读 / index {gen} unreadable: {exc}. {_HINT}") from exc
        if len(chunks) != n or len(documents) != manifest.get("document_count"):
            raise IndexCorrupt(
                f"Milvus 索引不完整 / {gen} holds {len(chunks)} chunks and {len(documents)} documents, "
                f"manifest says {n} and {manifest.get('document_count')}. {_HINT}"
            )
        if corpus_hash(chunks) != manifest.get("corpus_hash"):
            raise IndexCorrupt(f"Milvus 索引内容与清单不符 / {gen}: content does not match its manifest. {_HINT}")
        terms = [r["terms"].split(" ") if r["terms"] else [] for r in chunk_rows]
        if manifest.get("milvus_bm25") and self.cfg.bm25:
            bm25: Any = MilvusBM25(self.client, gen, n, {t for ts in terms for t in ts})
        else:
            bm25 = BM25Index().index_tokens(terms)
        dense = MilvusDense(self.client, gen, n, int(manifest["embedder_dim"]), str(manifest.get("dense_kind", "flat")))
        return MilvusStore(
            documents=documents, chunks=chunks, dense=dense, bm25=bm25,
            embedder_id=manifest["embedder_id"], chunker_version=manifest["chunker_version"],
            manifest=manifest, collection=gen,
        )

    def _read_all(self, name: str, n: int, key: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row, in primary-key order, read in pages of primary-key ranges (Milvus caps one query)."""
        out: list[dict[str, Any]] = []
        for lo in range(0, n, _READ_BATCH):
            page = self.client.query(name, filter=f"{key} >= {lo} and {key} < {lo + _READ_BATCH}", output_fields=fields)
            out.extend(sorted(page, key=lambda r: int(r[key])))
        if [int(r[key]) for r in out] != list(range(n)):
            raise IndexCorrupt(f"Milvus 索引行不连续 / rows of {name} are not 0..{n - 1}. {_HINT}")
        return out


class _nolock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
