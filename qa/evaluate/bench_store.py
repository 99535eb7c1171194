"""`qa bench --stores faiss,milvus`: the two index stores side by side.

For each store, on the seed corpus: indexing time from a warm embedding cache (embedding costs the
same whatever the store, and is measured by the plain `qa bench`), then, in a fresh process,
retrieval and answer latency p50/p95 and resident memory. "milvus-server" is the Milvus store
reached over gRPC on loopback (Milvus Lite's own server in a separate process, as replicas would
reach a Milvus server); its memory is that of both processes.

Scaling: synthetic vectors (qa.evaluate.bench.synthetic_vectors) with a region field, into the
product's FAISS DenseIndex and into a Milvus Lite collection with the schema's filter fields;
insert and index time, search p50/p95 without and with a region filter (1 region in 8), and the
RSS growth of this process (Milvus Lite runs in it).
"""

from __future__ import annotations

import gc
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

from qa.config import Settings
from qa.evaluate.bench import (
    _log,
    _ms,
    _queries,
    measure_latency_fresh,
    release_memory,
    rss_mb,
    synthetic_vectors,
)
from qa.serving import free_port, stop_process

from qa.index.milvus import release_lite  # (imports no pymilvus at module level)

SECTION = "## Vector stores: FAISS files vs Milvus"
REGIONS = 8


class MilvusLiteServer:
    """`python -m milvus_lite server` on a loopback port: a Milvus endpoint in its own process.

    Its output goes to `log` (default: discarded); a context manager that always stops it."""

    def __init__(self, data_dir: Path, log: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._fh: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "MilvusLiteServer":
        self._fh = open(self.log, "wb") if self.log else None
        out = self._fh or subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT if self._fh else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"milvus_lite server exited with {self.proc.returncode}{self._tail()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"milvus_lite server did not listen within 60 s{self._tail()}")

    def _tail(self) -> str:
        if not self.log:
            return ""
        return ":\n" + self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid) if self.proc and self.proc.poll() is None else 0.0

    def __exit__(self, *exc: object) -> None:
        stop_process(self.proc, signal.SIGTERM)
        if self._fh:
            self._fh.close()


# ---------------------------------------------------------------- seed corpus, per store


def _build(settings: Settings, runs: int = 2) -> dict[str, Any]:
    """Index the seeds `runs` times (warm cache); the last run's figures (the first loads jieba etc.)."""
    from qa.index.builder import IndexBuilder

    rep = None
    for _ in range(runs):
        builder = IndexBuilder(settings, log=_log)
        rep = builder.run(progress=False)
        close = getattr(builder.backend, "close", None)
        if close:
            close()
    assert rep is not None
    return {"seconds": rep.seconds, "chunks": rep.chunks, "documents": rep.documents, "embedded": rep.embedded,
            "timings": rep.timings, "dense_kind": rep.dense_kind}


def measure_store(name: str, base: Settings, workdir: Path, questions: Sequence[str]) -> dict[str, Any]:
    """Indexing time, latency and memory of one store over the seeds ('faiss', 'milvus', 'milvus-server')."""
    cache = workdir / "cache"
    index_dir = workdir / f"index-{name}"
    if name == "faiss":
        settings = base.with_overrides(vector_store="faiss", index_dir=index_dir, cache_dir=cache)
    else:
        settings = base.with_overrides(vector_store="milvus", index_dir=index_dir, cache_dir=cache, milvus_uri="")
    out: dict[str, Any] = {"store": name}
    if name == "milvus-server":
        with MilvusLiteServer(workdir / "milvus-server-data") as server:
            settings = settings.with_overrides(milvus_uri=server.uri)
            out["build"] = _build(settings)
            out["latency"] = measure_latency_fresh(settings, questions)
            out["server_rss_mb"] = server.rss_mb()
        return out
    out["build"] = _build(settings)
    if name == "milvus":
        release_lite(str(index_dir / "milvus.db"))  # the latency process must open the Lite file itself
    out["latency"] = measure_latency_fresh(settings, questions)
    return out


# ---------------------------------------------------------------- scaling


@dataclass
class StoreScalingRow:
    store: str
    n: int
    kind: str  # flat | hnsw
    insert_s: float  # FAISS: adding to the index; Milvus: inserting the rows (and flushing)
    index_s: float  # building the vector index (FAISS: included in insert_s)
    search_p50_ms: float
    search_p95_ms: float
    filtered_p50_ms: float  # region filter, 1 region in 8
    filtered_p95_ms: float
    memory_mb: float  # RSS growth of this process while built and searched
    recall_at_10: float | None = None  # vs exact search on the same queries (FAISS flat)


def _timed(fn: Any, queries: np.ndarray) -> tuple[list[set[int]], dict[str, Any]]:
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        ids = fn(q)
        times.append(time.perf_counter() - t)
        found.append(set(int(i) for i in ids))
    return found, _ms(times)


def _faiss_rows(x: np.ndarray, regions: np.ndarray, qs: np.ndarray, kinds: list[str], k: int) -> tuple[list[StoreScalingRow], list[set[int]]]:
    from qa.index.dense import DenseIndex

    rows, exact = [], []
    mask = regions == 0
    for kind in kinds:
        release_memory()
        before = rss_mb()
        t = time.perf_counter()
        idx = DenseIndex(hnsw_threshold=x.shape[0] if kind == "flat" else 0).index(x)
        build = time.perf_counter() - t
        found, lat = _timed(lambda q: idx.retrieve(q, k)[0], qs)
        _, flat_lat = _timed(lambda q: idx.retrieve(q, k, allowed=mask)[0], qs)
        if kind == "flat":
            exact = found
        recall = None if kind == "flat" else float(np.mean([len(a & b) / max(1, len(b)) for a, b in zip(found, exact)]))
        rows.append(StoreScalingRow("faiss", x.shape[0], kind, build, 0.0, lat["p50"], lat["p95"], flat_lat["p50"],
                                    flat_lat["p95"], rss_mb() - before, recall))
        _log(f"faiss  {x.shape[0]:>9,} {kind:5} build {build:7.1f}s p50 {lat['p50']:.2f} ms")
        del idx
        gc.collect()
    return rows, exact


def _milvus_rows(x: np.ndarray, regions: np.ndarray, qs: np.ndarray, kinds: list[str], k: int, workdir: Path,
                 exact: list[set[int]]) -> list[StoreScalingRow]:
    from pymilvus import DataType, MilvusClient

    rows = []
    for kind in kinds:
        uri = str(workdir / f"scale-{x.shape[0]}-{kind}.db")
        release_memory()
        before = rss_mb()
        client = MilvusClient(uri)
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=x.shape[1])
        schema.add_field("region", DataType.VARCHAR, max_length=64)
        client.create_collection("scale", schema=schema, consistency_level="Strong")
        t = time.perf_counter()
        for start in range(0, x.shape[0], 2000):
            stop = min(x.shape[0], start + 2000)
            client.insert("scale", [{"row": i, "vector": x[i].tolist(), "region": f"r{regions[i]}"} for i in range(start, stop)])
        client.flush("scale")
        insert_s = time.perf_counter() - t
        t = time.perf_counter()
        ip = client.prepare_index_params()
        if kind == "hnsw":
            ip.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 200})
        else:
            ip.add_index("vector", index_type="FLAT", metric_type="IP")
        client.create_index("scale", ip)
        client.load_collection("scale")
        index_s = time.perf_counter() - t
        params: dict[str, Any] = {"metric_type": "IP"}
        if kind == "hnsw":
            params["params"] = {"ef": 128}

        def search(q: np.ndarray, expr: str = "") -> list[int]:
            res = client.search("scale", data=[q.tolist()], anns_field="vector", limit=k, filter=expr,
                                search_params=params, output_fields=["row"])
            return [int(h["row"]) for h in res[0]]

        search(qs[0])  # first search loads segments / builds lazily
        found, lat = _timed(search, qs)
        _, flat_lat = _timed(lambda q: search(q, 'region == "r0"'), qs)
        recall = float(np.mean([len(a & b) / max(1, len(b)) for a, b in zip(found, exact)])) if exact else None
        rows.append(StoreScalingRow("milvus-lite", x.shape[0], kind, insert_s, index_s, lat["p50"], lat["p95"],
                                    flat_lat["p50"], flat_lat["p95"], rss_mb() - before, recall))
        _log(f"milvus {x.shape[0]:>9,} {kind:5} insert {insert_s:7.1f}s index {index_s:6.1f}s p50 {lat['p50']:.2f} ms")
        client.close()
        release_lite(uri)
        shutil.rmtree(uri, ignore_errors=True)
        gc.collect()
    return rows


def measure_store_scaling(base: np.ndarray, sizes: Sequence[int], workdir: Path, queries: int = 200, k: int = 10,
                          hnsw_min: int = 100_000, hnsw_max: int | None = 100_000, seed: int = 0) -> list[StoreScalingRow]:
    rows: list[StoreScalingRow] = []
    for n in sorted(set(int(s) for s in sizes)):
        x = synthetic_vectors(base, n, seed=seed)
        regions = np.random.default_rng(seed + 7).integers(0, REGIONS, n)
        qs = _queries(x, queries, seed)
        kinds = ["flat"] + (["hnsw"] if n >= hnsw_min and (hnsw_max is None or n <= hnsw_max) else [])
        faiss_rows, exact = _faiss_rows(x, regions, qs, kinds, k)
        rows += faiss_rows
        rows += _milvus_rows(x, regions, qs, kinds, k, workdir, exact)
        del x
        gc.collect()
    return rows


# ---------------------------------------------------------------- report


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    return "–" if v is None else fmt.format(v)


def render_markdown(res: dict[str, Any]) -> str:
    lines = [SECTION, "", f"Command: `{res['command']}` — {res['date']}, {res['machine']}.", ""]
    if res.get("load"):
        lo, hi = res["load"]
        lines += [f"Load average during the run: {lo:.1f} at the start, {hi:.1f} at the end (other work shares the 2 cores).", ""]
    stores = res.get("stores", [])
    if stores:
        lines += ["### Seed corpus (indexing from a warm embedding cache; latency in a fresh process, 40 gold questions)", "",
                  "| store | index s | of which vectors / BM25 / save | retrieve hybrid p50 / p95 ms | dense p50 / p95 ms | bm25 p50 / p95 ms | full answer p50 / p95 ms | load s | RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in stores:
            b, lat, tm = r["build"], r["latency"], r["build"]["timings"]
            if r["store"] == "faiss":
                parts = f"{tm.get('dense', 0):.2f} / {tm.get('bm25', 0):.2f} / {tm.get('save', 0):.2f}"
            else:
                parts = f"{tm.get('milvus_insert', 0):.2f} (insert, index, load) / – / {tm.get('milvus_swap', 0):.2f} (alias)"
            rss = f"{lat['rss_mb']:.0f}" + (f" + {r['server_rss_mb']:.0f} (server)" if r.get("server_rss_mb") else "")
            cell = lambda m: f"{_f(lat[m]['p50'])} / {_f(lat[m]['p95'])}"  # noqa: E731
            lines.append(f"| {r['store']} | {b['seconds']:.1f} | {parts} | {cell('retrieve_hybrid')} | {cell('retrieve_dense')} | "
                         f"{cell('retrieve_bm25')} | {cell('answer')} | {lat['load_s']:.1f} | {rss} |")
        lines.append("")
    sc = res.get("scaling")
    if sc:
        lines += [f"### Synthetic vectors (dim {sc['dim']}, {sc['queries']} single queries, k=10; filter = 1 region in 8)", "",
                  "| store | vectors | index | insert s | index s | search p50 / p95 ms | filtered p50 / p95 ms | memory MiB | recall@10 vs exact |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in sc["rows"]:
            lines.append(f"| {r['store']} | {r['n']:,} | {r['kind']} | {r['insert_s']:.1f} | {r['index_s']:.1f} | "
                         f"{r['search_p50_ms']:.2f} / {r['search_p95_ms']:.2f} | {r['filtered_p50_ms']:.2f} / {r['filtered_p95_ms']:.2f} | "
                         f"{r['memory_mb']:.0f} | {_f(r['recall_at_10'], '{:.3f}')} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def stores_command(base: Settings, stores: Sequence[str], sizes: Sequence[int], questions: Sequence[str],
                   hnsw_max: int | None, command: str) -> dict[str, Any]:
    """Run the comparison; the result dict renders with `render_markdown`."""
    import os
    from datetime import datetime

    from qa.evaluate.bench import machine_info

    res: dict[str, Any] = {"command": command, "date": datetime.now().strftime("%Y-%m-%d"), "machine": machine_info()}
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="qa-bench-stores-") as tmp:
        work = Path(tmp)
        # a private copy of the embedding cache: the builds embed nothing and the user's cache is not touched
        if Path(base.cache_dir).is_dir():
            shutil.copytree(base.cache_dir, work / "cache")
        res["stores"] = []
        for name in stores:
            _log(f"store {name}: indexing the seeds, then latency in a fresh process …")
            res["stores"].append(measure_store(name, base, work, questions))
        if sizes:
            from qa.evaluate.bench import index_vectors

            faiss_dir = work / "index-faiss"
            if not faiss_dir.exists():
                _build(base.with_overrides(vector_store="faiss", index_dir=faiss_dir, cache_dir=work / "cache"), runs=1)
            vecs = index_vectors(faiss_dir)
            rows = measure_store_scaling(vecs, sizes, work, hnsw_max=hnsw_max)
            res["scaling"] = {"dim": int(vecs.shape[1]), "queries": 200, "rows": [asdict(r) for r in rows]}
    res["load"] = [start_load, os.getloadavg()[0]]
    return res


def run_stores(out_md: Path | None, stores: list[str], sizes: list[int] | None, hnsw_max: int | None) -> int:
    """`qa bench --stores …`: print the comparison and replace its section of `out_md`."""
    import json

    from qa.config import load_settings
    from qa.evaluate.bench import gold_questions, update_section

    known = ("faiss", "milvus", "milvus-server")
    bad = [s for s in stores if s not in known]
    if bad:
        _log(f"未知的存储 / unknown store(s) {bad}: use {', '.join(known)}")
        return 2
    sizes = [100_000] if sizes is None else sizes
    command = (f"qa bench --stores {','.join(stores)}" + "".join(f" --scale {n}" for n in sizes)
               + (f" --hnsw-max {hnsw_max}" if hnsw_max else "") + (f" --out {out_md}" if out_md else ""))
    res = stores_command(load_settings(), stores, sizes, gold_questions(Path("eval") / "gold.jsonl", 40), hnsw_max, command)
    md = render_markdown(res)
    print(md)
    Path("eval/reports").mkdir(parents=True, exist_ok=True)
    Path("eval/reports/bench-stores.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    if out_md:
        update_section(Path(out_md), md, SECTION)
        _log(f"updated {out_md} ({SECTION})")
    return 0
