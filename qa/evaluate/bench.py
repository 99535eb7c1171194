"""System benchmark behind `qa bench`: build time, latency, throughput, memory, scaling.

Everything runs against a fresh index in a temporary directory (never the
user's index), the HTTP load test against a real `qa serve` subprocess on a
free loopback port that is stopped afterwards, and every step is bounded by a
time or request budget, so the command always ends by itself.

Scaling: the real chunk vectors are replicated to 10k / 100k / 1M rows of
synthetic unit vectors and searched with the product's own `DenseIndex`
(exact flat, and HNSW for comparison from 100k). Synthetic rows are real
vectors plus Gaussian noise, re-normalised ("jitter"): uniformly random unit
vectors in 384-d are almost orthogonal to each other, unlike real embeddings,
which would make the HNSW figures unrepresentative ("random" is available).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from qa.config import ROOT, Settings, load_settings
from qa.evaluate.metrics import percentile
from qa.serving import ServeProcess

SECTION = "## System benchmarks"
DEFAULT_SCALE = [10_000, 100_000, 1_000_000]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- memory


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS, so RSS deltas measure live memory."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process in MiB (Linux /proc; 0.0 where unavailable)."""
    try:
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def machine_info() -> str:
    mem = ""
    try:
        kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    import faiss

    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, faiss {faiss.__version__}"


def _ms(values: Sequence[float]) -> dict[str, float | None]:
    v = [1000.0 * x for x in values]
    return {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)}


# ---------------------------------------------------------------- scaling (synthetic vectors)


@dataclass
class ScalingRow:
    n: int
    kind: str  # flat | hnsw
    build_s: float
    search_p50_ms: float
    search_p95_ms: float
    memory_mb: float  # RSS growth while the index was built (≈ index size)
    vectors_mb: float  # n × dim × 4 bytes, for reference
    recall_at_10: float | None = None  # HNSW top 10 vs exact flat top 10 on the same queries


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0, fill: str = "jitter", noise: float = 0.03) -> np.ndarray:
    """n unit vectors: the base rows first, then synthetic rows (see module doc), float32, built in blocks."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    if base.ndim != 2 or base.shape[0] == 0:
        raise ValueError(f"base vectors must be a non-empty matrix, got shape {base.shape}")
    if fill not in ("jitter", "random"):
        raise ValueError(f"fill must be 'jitter' or 'random', not {fill!r}")
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    m = min(n, base.shape[0])
    out[:m] = base[:m]
    block = 65_536
    for start in range(m, n, block):
        stop = min(n, start + block)
        x = rng.standard_normal((stop - start, dim), dtype=np.float32)
        if fill == "jitter":
            x *= noise
            x += base[rng.integers(0, base.shape[0], stop - start)]
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:stop] = x
    return out


def _queries(x: np.ndarray, count: int, seed: int, noise: float = 0.02) -> np.ndarray:
    """Queries near random database rows (a real question is near, not equal to, its passage)."""
    rng = np.random.default_rng(seed + 1)
    q = x[rng.integers(0, x.shape[0], count)] + noise * rng.standard_normal((count, x.shape[1]), dtype=np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def measure_scaling(
    base: np.ndarray,
    sizes: Sequence[int],
    queries: int = 200,
    k: int = 10,
    hnsw_min: int = 100_000,
    hnsw_max: int | None = None,
    seed: int = 0,
    fill: str = "jitter",
) -> list[ScalingRow]:
    """Search latency and memory of the product's DenseIndex over growing synthetic corpora."""
    from qa.index.dense import DenseIndex

    rows: list[ScalingRow] = []
    # First use of FAISS allocates its own buffers; keep that out of the first row's memory figure.
    DenseIndex().index(np.ascontiguousarray(base[:16], dtype=np.float32)).retrieve(base[0], 1)
    for n in sorted(set(int(s) for s in sizes)):
        if n <= 0:
            raise ValueError(f"scale sizes must be positive, got {n}")
        x = synthetic_vectors(base, n, seed=seed, fill=fill)
        qs = _queries(x, queries, seed)
        kinds = ["flat"] + (["hnsw"] if n >= hnsw_min and (hnsw_max is None or n <= hnsw_max) else [])
        exact: list[set[int]] = []
        for kind in kinds:
            release_memory()
            before = rss_mb()
            t = time.perf_counter()
            # the thresholds force the index kind; the HNSW parameters are the product defaults
            idx = DenseIndex(hnsw_threshold=n if kind == "flat" else 0).index(x)
            build = time.perf_counter() - t
            grown = rss_mb() - before
            times, found = [], []
            for q in qs:
                t = time.perf_counter()
                ids, _ = idx.retrieve(q, k)
                times.append(time.perf_counter() - t)
                found.append(set(ids.tolist()))
            if kind == "flat":
                exact = found
                recall = None
            else:
                recall = float(np.mean([len(a & b) / max(1, len(b)) for a, b in zip(found, exact)]))
            lat = _ms(times)
            rows.append(
                ScalingRow(
                    n=n, kind=kind, build_s=build, search_p50_ms=lat["p50"] or 0.0, search_p95_ms=lat["p95"] or 0.0,
                    memory_mb=grown, vectors_mb=x.nbytes / 2**20, recall_at_10=recall,
                )
            )
            _log(f"scale {n:>9,} {kind:5} build {build:7.1f}s  p50 {rows[-1].search_p50_ms:7.2f} ms  +{grown:7.0f} MiB")
            del idx
        del x
        gc.collect()
    return rows


def index_vectors(index_dir: Path) -> np.ndarray:
    """All chunk vectors of a built index (the base for the scaling runs)."""
    from qa.index.dense import DenseIndex
    from qa.index.store import IndexStore

    dense = DenseIndex.load(IndexStore.resolve(index_dir) / "dense")
    return dense.vectors(np.arange(dense.size))


# ---------------------------------------------------------------- build, latency


def measure_build(settings: Settings, workdir: Path) -> tuple[dict[str, Any], Settings]:
    """Cold (empty embedding cache) and warm (cache filled) builds in `workdir`; returns the settings of the built index."""
    from qa.index.builder import IndexBuilder

    out: dict[str, Any] = {}
    cold = settings.with_overrides(index_dir=workdir / "index-cold", cache_dir=workdir / "cache")
    warm = settings.with_overrides(index_dir=workdir / "index-warm", cache_dir=workdir / "cache")
    for name, s in (("cold", cold), ("warm", warm)):
        _log(f"building index ({name} embedding cache) …")
        rep = IndexBuilder(s, log=_log).run(progress=False)
        out[name] = {"seconds": rep.seconds, "chunks": rep.chunks, "documents": rep.documents, "embedded": rep.embedded,
                     "reused": rep.reused, "timings": rep.timings}
    return out, warm


def measure_latency(settings: Settings, questions: Sequence[str], warmup: int = 3) -> dict[str, Any]:
    """In-process p50/p95: retrieval in each mode, and full answers; plus resident memory."""
    from qa.answer.pipeline import Assistant

    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    assistant = Assistant(settings)
    load_s = time.perf_counter() - t
    out: dict[str, Any] = {"load_s": load_s, "rss_before_mb": rss0}
    for q in questions[:warmup]:  # model weights, jieba dictionary, caches
        assistant.ask(q)
    for mode in ("bm25", "dense", "hybrid"):
        times = []
        for q in questions:
            t = time.perf_counter()
            assistant.retriever.run(q, k=settings.top_k, filters=None, mode=mode)
            times.append(time.perf_counter() - t)
        out[f"retrieve_{mode}"] = _ms(times)
    times = []
    for q in questions:
        t = time.perf_counter()
        assistant.ask(q)
        times.append(time.perf_counter() - t)
    out["answer"] = _ms(times)
    out["answer_mode"] = assistant.mode
    out["rss_mb"] = rss_mb()
    return out


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QA_INDEX_DIR=str(settings.index_dir), QA_CACHE_DIR=str(settings.cache_dir), QA_LLM_BASE_URL=settings.llm_base_url)
    # the store and embedder the child must open (replicas and the Milvus benchmark)
    env.update(QA_VECTOR_STORE=settings.vector_store, QA_MILVUS_URI=settings.milvus_uri,
               QA_MILVUS_TOKEN=settings.milvus_token, QA_MILVUS_COLLECTION=settings.milvus_collection,
               QA_MILVUS_BM25="1" if settings.milvus_bm25 else "0", QA_EMBEDDER=settings.embedder,
               QA_RELOAD_CHECK_SECONDS=str(settings.reload_check_seconds))
    return env


def measure_latency_fresh(settings: Settings, questions: Sequence[str], timeout: float = 1800.0) -> dict[str, Any]:
    """`measure_latency` in a new process, so its load time and memory are not those of this one."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-q-") as tmp:
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps(list(questions), ensure_ascii=False), encoding="utf-8")
        code = (
            "import json, sys; from qa.config import load_settings; from qa.evaluate.bench import measure_latency; "
            "qs = json.loads(open(sys.argv[1], encoding='utf-8').read()); "
            "print('RESULT ' + json.dumps(measure_latency(load_settings(), qs)))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, str(qfile)], cwd=str(ROOT), env=_child_env(settings),
            capture_output=True, text=True, timeout=timeout,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"latency process failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ---------------------------------------------------------------- HTTP throughput


def _answers(url: str) -> bool:
    """Ready once POST /api/ask answers without a server error (the pipeline is loaded and warm)."""
    import httpx

    return httpx.post(url + "/api/ask", json={"question": "你好"}, timeout=30).status_code < 500


def bench_server(settings: Settings, port: int | None = None, start_timeout: float = 240.0) -> ServeProcess:
    """`qa serve` on a loopback port over `settings`' index, store and embedder (a context manager that
    always stops it: SIGTERM, then SIGKILL); ready once it answers a question."""
    env = _child_env(settings)
    # the load test must measure the server, not the rate limiter or the login
    env.update(QA_RATE_LIMIT_PER_MINUTE=str(10**9), QA_API_KEY="", QA_AUTH="")
    return ServeProcess(env, port=port, start_timeout=start_timeout, poll=0.5, ready=_answers, stop_signal=signal.SIGTERM)


def _server_rss(server: ServeProcess) -> float:
    return rss_mb(server.proc.pid) if server.proc and server.proc.poll() is None else 0.0


def load_test(url: str, questions: Sequence[str], clients: int, duration: float = 10.0, timeout: float = 60.0) -> dict[str, Any]:
    """`clients` threads POST /api/ask back to back for `duration` seconds; QPS counts 200 responses."""
    import httpx

    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    stop_at = time.perf_counter() + duration

    def worker(offset: int) -> None:
        i = offset
        with httpx.Client(timeout=timeout) as client:
            while time.perf_counter() < stop_at:
                q = questions[i % len(questions)]
                i += clients
                t = time.perf_counter()
                try:
                    code = str(client.post(url + "/api/ask", json={"question": q}).status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                dt = time.perf_counter() - t
                with lock:
                    statuses[code] = statuses.get(code, 0) + 1
                    if code == "200":
                        latencies.append(dt)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(duration + timeout + 5)
    elapsed = time.perf_counter() - t0
    ok = statuses.get("200", 0)
    return {"clients": clients, "seconds": elapsed, "requests": sum(statuses.values()), "ok": ok,
            "qps": ok / elapsed if elapsed else 0.0, "statuses": statuses, "latency_ms": _ms(latencies)}


def measure_serve(settings: Settings, questions: Sequence[str], clients: Sequence[int], duration: float) -> dict[str, Any]:
    with bench_server(settings) as server:
        _log(f"qa serve up at {server.url}")
        rss_idle = _server_rss(server)
        runs = []
        for c in clients:
            _log(f"load test: {c} client(s), {duration:.0f}s …")
            runs.append(load_test(server.url, questions, c, duration))
        return {"runs": runs, "rss_idle_mb": rss_idle, "rss_after_mb": _server_rss(server)}


# ---------------------------------------------------------------- report


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    return "–" if v is None else fmt.format(v)


def render_markdown(res: dict[str, Any]) -> str:
    """The '## System benchmarks' section for the results of `bench_command`: one part per
    measurement that was made."""
    lat, srv = res.get("latency"), res.get("serve")
    lines = [SECTION, "", *_md_intro(res)]
    if res.get("build"):
        lines += _md_build(res["build"])
    if lat:
        lines += _md_latency(lat)
    if srv:
        lines += _md_serve(srv)
    lines += _md_memory(lat, srv)
    if res.get("eval"):
        lines += _md_eval(res["eval"])
    if res.get("scaling"):
        lines += _md_scaling(res["scaling"])
    return "\n".join(lines).rstrip() + "\n"


def _md_intro(res: dict[str, Any]) -> list[str]:
    """The command, date and machine, the load on the cores, and how the figures were measured."""
    lines = [f"Command: `{res['command']}` — {res['date']}, {res['machine']}.", ""]
    if res.get("load"):
        lo, hi = res["load"]
        lines += [
            f"Load average during the run: {lo:.1f} at the start, {hi:.1f} at the end. Other processes sharing the "
            "cores inflate latencies and deflate throughput; treat the figures as upper bounds.",
            "",
        ]
    lines += [
        "Measured on a fresh index of the seed corpus in a temporary directory (offline extractive answers); "
        "latencies are wall-clock per call, throughput counts HTTP 200 responses of `POST /api/ask` "
        "against a `qa serve` subprocess on 127.0.0.1 with the rate limiter disabled (429s at 16 clients come from the per-client gate of docs/RELIABILITY.md, which stays on: at most 4 answers in progress per client address, and every load-test client is 127.0.0.1).",
        "",
    ]
    return lines


def _md_build(b: dict[str, Any]) -> list[str]:
    lines = ["### Index build", "", "| cache | seconds | documents | chunks | embedded | from cache | embed s |", "|---|---|---|---|---|---|---|"]
    for name in ("cold", "warm"):
        r = b[name]
        lines.append(f"| {name} | {r['seconds']:.1f} | {r['documents']} | {r['chunks']} | {r['embedded']} | {r['reused']} | {_f(r['timings'].get('embed'))} |")
    return lines + [""]


def _md_latency(lat: dict[str, Any]) -> list[str]:
    lines = [f"### Query latency (in-process, {lat['answer']['n']} gold questions)", "", "| what | p50 ms | p95 ms |", "|---|---|---|"]
    for mode in ("bm25", "dense", "hybrid"):
        r = lat[f"retrieve_{mode}"]
        lines.append(f"| retrieve ({mode}) | {_f(r['p50'])} | {_f(r['p95'])} |")
    lines.append(f"| full answer ({lat['answer_mode']}) | {_f(lat['answer']['p50'])} | {_f(lat['answer']['p95'])} |")
    return lines + [""]


def _md_serve(srv: dict[str, Any]) -> list[str]:
    """Throughput per number of clients, or why it was not measured."""
    if "error" in srv:
        return ["### Throughput (`qa serve`)", "", f"Not measured: {srv['error']}", ""]
    lines = ["### Throughput (`qa serve`, POST /api/ask)", "", "| clients | seconds | requests | ok | QPS | p50 ms | p95 ms | other statuses |", "|---|---|---|---|---|---|---|---|"]
    for r in srv["runs"]:
        other = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items() if k != "200") or "–"
        lat_ = r["latency_ms"]
        lines.append(f"| {r['clients']} | {r['seconds']:.1f} | {r['requests']} | {r['ok']} | {r['qps']:.1f} | {_f(lat_['p50'])} | {_f(lat_['p95'])} | {other} |")
    return lines + [""]


def _md_memory(lat: dict[str, Any] | None, srv: dict[str, Any] | None) -> list[str]:
    """Resident memory of the processes measured (none: no part)."""
    mem = []
    if lat:
        mem.append(
            f"| fresh process: assistant loaded, {lat['answer']['n']} questions answered | {lat['rss_mb']:.0f} | "
            f"{lat['rss_before_mb']:.0f} MiB before loading; loading took {lat['load_s']:.1f}s |"
        )
    if srv and "error" not in srv:
        mem.append(f"| `qa serve` idle | {srv['rss_idle_mb']:.0f} | |")
        mem.append(f"| `qa serve` after the load tests | {srv['rss_after_mb']:.0f} | |")
    if not mem:
        return []
    return ["### Resident memory", "", "| process | RSS MiB | note |", "|---|---|---|", *mem, ""]


def _md_eval(ev: dict[str, Any]) -> list[str]:
    """The quality figures of a `qa eval` run quoted beside the system figures (--eval-metrics)."""
    from qa.evaluate.report import DEFINITIONS, md_table, headline_table

    lines = [
        f"### Answer quality (`qa eval`, {ev['questions']} gold questions)",
        "",
        f"From `{ev['path']}` (`{ev.get('command', 'qa eval')}`).",
        "",
        md_table(*headline_table(ev["configs"])),
        "",
        *[f"- **{k}**: {v}" for k, v in DEFINITIONS],
        "",
    ]
    for name, m in ev["configs"].items():
        if m["overall"].get("wrongly_declined") == 1.0:
            lines += [f"Note: with `{name}` the assistant declined every answerable question, so its answer columns are empty.", ""]
    return lines


def _md_scaling(sc: dict[str, Any]) -> list[str]:
    lines = [
        f"### Scaling (synthetic vectors, dim {sc['dim']}, {sc['queries']} single queries, k=10)",
        "",
        f"Base: {sc['base']} real chunk vectors, replicated with noise (fill={sc['fill']}). "
        "Memory is the RSS growth while the index was built; HNSW uses the product parameters (M=32, efConstruction=200, efSearch=128) "
        f"and is built from 100k up to {format(sc['hnsw_max'], ',') if sc.get('hnsw_max') else 'every size'} (`--hnsw-max`; its build time grows faster than linearly).",
        "",
        "| vectors | index | build s | search p50 ms | search p95 ms | memory MiB | raw vectors MiB | recall@10 vs flat |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sc["rows"]:
        lines.append(
            f"| {r['n']:,} | {r['kind']} | {r['build_s']:.1f} | {r['search_p50_ms']:.2f} | {r['search_p95_ms']:.2f} | "
            f"{r['memory_mb']:.0f} | {r['vectors_mb']:.0f} | {_f(r['recall_at_10'], '{:.3f}')} |"
        )
    return lines + [""]


def update_section(path: Path, section_md: str, section: str = SECTION) -> None:
    """Replace (or append) the `section` ('## System benchmarks') of a markdown file, leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == section), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section_md
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new = "".join(lines[:start]) + section_md + ("\n" + tail if tail else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- command


def gold_questions(gold: Path, n: int) -> list[str]:
    from qa.evaluate.gold import load_gold

    try:
        qs = [it.question for it in load_gold(gold)]
    except Exception:
        qs = []
    if not qs:  # still measurable without a gold file
        qs = ["养犬需要办理登记吗？", "引进黄金深加工项目有什么奖励？", "租赁厂房能补贴多少？", "申请补贴需要哪些材料？"]
    return qs[:n]


def bench_command(
    out_md: Path | None,
    scale: list[int] | None,
    *,
    gold: Path = Path("eval") / "gold.jsonl",
    queries: int = 40,
    clients: Sequence[int] = (1, 4, 16),
    duration: float = 10.0,
    serve: bool = True,
    build: bool = True,
    hnsw_max: int | None = None,
    json_out: Path | None = None,
    eval_metrics: Path | None = None,
    settings: Settings | None = None,
) -> int:
    """`qa bench`: run the benchmarks, print the markdown table, and update `out_md` (e.g. docs/BENCHMARKS.md)."""
    base = settings or load_settings()
    scale = DEFAULT_SCALE if scale is None else list(scale)
    res: dict[str, Any] = {
        "command": _command_line(out_md, scale, duration, serve, hnsw_max, eval_metrics),
        "date": datetime.now().strftime("%Y-%m-%d"),
        "machine": machine_info(),
    }
    start_load = os.getloadavg()[0]
    questions = gold_questions(gold, queries)
    if eval_metrics:  # a `qa eval` run to quote beside the system figures
        res["eval"] = _eval_quote(eval_metrics)
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        _measure(res, base, Path(tmp), questions, build=build, serve=serve, clients=clients, duration=duration,
                 scale=scale, hnsw_max=hnsw_max)
    res["load"] = [start_load, os.getloadavg()[0]]
    md = render_markdown(res)
    print(md)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    if out_md:
        update_section(Path(out_md), md)
        _log(f"updated {out_md} ({SECTION})")
    return 0


def _command_line(
    out_md: Path | None, scale: list[int], duration: float, serve: bool, hnsw_max: int | None, eval_metrics: Path | None
) -> str:
    """The `qa bench` command that reproduces the run, as the report quotes it."""
    return (
        "qa bench" + (f" --out {out_md}" if out_md else "")
        + ("".join(f" --scale {s}" for s in scale) if scale else " --scale 0")
        + (f" --duration {duration:g}" if duration != 10.0 else "") + ("" if serve else " --no-serve")
        + (f" --hnsw-max {hnsw_max}" if hnsw_max else "") + (f" --eval-metrics {eval_metrics}" if eval_metrics else "")
    )


def _eval_quote(eval_metrics: Path) -> dict[str, Any]:
    """A `qa eval` metrics file, as the report quotes it: its configs, question count and command."""
    data = json.loads(Path(eval_metrics).read_text(encoding="utf-8"))
    first = next(iter(data["configs"].values()))
    meta = data.get("meta") or {}
    return {"path": str(eval_metrics), "configs": data["configs"], "questions": first["overall"]["n"],
            "command": f"qa eval --gold {meta.get('gold', '…')} " + " ".join(f"--config {c}" for c in data["configs"])}


def _measure(
    res: dict[str, Any],
    base: Settings,
    workdir: Path,
    questions: Sequence[str],
    *,
    build: bool,
    serve: bool,
    clients: Sequence[int],
    duration: float,
    scale: list[int],
    hnsw_max: int | None,
) -> None:
    """Each measurement asked for, into `res`; a latency or throughput run that fails is logged
    (throughput: also reported), not fatal, so the other figures are still written."""
    built = base
    if build:
        res["build"], built = measure_build(base, workdir)
    try:
        res["latency"] = measure_latency_fresh(built, questions)
    except Exception as exc:
        _log(f"latency not measured: {type(exc).__name__}: {exc}")
    if serve:
        try:
            res["serve"] = measure_serve(built, questions, clients, duration)
        except Exception as exc:
            res["serve"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            _log(f"throughput not measured: {res['serve']['error']}")
    if scale:
        base_vecs = index_vectors(built.index_dir)
        rows = measure_scaling(base_vecs, scale, hnsw_max=hnsw_max)
        res["scaling"] = {"dim": int(base_vecs.shape[1]), "base": int(base_vecs.shape[0]), "queries": 200, "fill": "jitter", "hnsw_max": hnsw_max,
                          "rows": [asdict(r) for r in rows]}
