"""Bounded load test of a real `qa serve` on a loopback port.

    python eval/loadtest.py --index-dir index --clients 16 --seconds 60 --json-out artifacts/loadtest.json

1. starts `python -m qa.cli serve --host 127.0.0.1 --port <free> --no-build` with QA_INDEX_DIR
   (or uses a running server given with --url), offline extractive mode, the per-client rate
   limit raised (QA_RATE_LIMIT_PER_MINUTE) so the test measures the service, not the limiter;
2. asks each sampled question of eval/gold.jsonl once, one at a time: the baseline answers
   (the pipeline is deterministic, so every later answer to a question must equal its baseline);
3. runs `clients` concurrent clients for `seconds`: most on POST /api/ask (httpx), some on the
   Gradio API (gradio_client, `/ask`, through the Gradio queue); every client sends random
   questions and checks each response against its OWN question: the echoed question and
   standalone question, the answer text and the cited chunk ids must equal that question's
   baseline — an answer meant for another user would differ (mix-up);
4. reports throughput, p50/p95/p99 latency, errors, mix-ups, and the server's RSS before and
   after (with its peak), then stops the server. Exit code 1 on any error, mix-up, or RSS
   growth above --max-rss-growth-mb.

Only loopback traffic; stops by itself. `run_load` is also used by a short pytest version
(tests/app/test_bad_input.py::test_short_load_no_errors_no_mixups).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qa.serving import ServeProcess, server_env  # noqa: E402


# --- questions and baselines -----------------------------------------------------------------


@dataclass
class Expected:
    """What the answer to one question must be (from the sequential baseline run)."""

    question: str
    standalone: str
    text: str
    chunk_ids: list[str]
    refused: bool
    gold_doc: str | None = None  # the gold source document title, if any
    titles: list[str] = field(default_factory=list)  # cited document titles

    @property
    def cites_gold(self) -> bool:
        return bool(self.gold_doc) and not self.refused and self.gold_doc in self.titles


def load_questions(path: Path, n: int, seed: int) -> list[tuple[str, str | None]]:
    """(question, gold document title) pairs, a seeded sample of n."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(r["question"], (r.get("source") or {}).get("doc_title")) for r in rows]
    random.Random(seed).shuffle(pairs)
    return pairs[:n] if n > 0 else pairs


def baseline(url: str, questions: list[tuple[str, str | None]], headers: dict[str, str] | None = None) -> dict[str, Expected]:
    out: dict[str, Expected] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for q, gold in questions:
            r = client.post("/api/ask", json={"question": q, "with_hits": False})
            r.raise_for_status()
            a = r.json()
            out[q] = Expected(
                question=a["question"],
                standalone=a["standalone_question"],
                text=a["answer"],
                chunk_ids=[c["chunk_id"] for c in a["citations"]],
                refused=a["refused"],
                gold_doc=gold,
                titles=[c["doc_title"] for c in a["citations"]],
            )
    return out


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Sample:
    channel: str  # api | gradio
    client: int
    seconds: float
    ok: bool
    error: str = ""
    mixup: str = ""


@dataclass
class LoadResult:
    clients: int
    gradio_clients: int
    seconds: float  # wall time of the load phase
    requests: int
    errors: int
    mixups: int
    throughput_rps: float
    latency_s: dict[str, dict[str, float]]  # channel (and "all") -> p50/p95/p99/max/mean
    error_examples: list[str]
    mixup_examples: list[str]
    per_channel: dict[str, int]
    min_per_client: int  # answers of the least served client (0: a client never got through)
    questions: int
    baseline_cites_gold: int  # baseline answers citing their gold document (retrieval quality, for reference)
    rss_mb: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(_pct(values, 50), 4),
        "p95": round(_pct(values, 95), 4),
        "p99": round(_pct(values, 99), 4),
        "max": round(max(values), 4) if values else 0.0,
        "mean": round(sum(values) / len(values), 4) if values else 0.0,
    }


def _check_api(a: dict[str, Any], want: Expected) -> str:
    """'' if the JSON answer belongs to `want`'s question, else what differs."""
    if a.get("question") != want.question:
        return f"question echo {a.get('question')!r} != {want.question!r}"
    if a.get("standalone_question") != want.standalone:
        return f"standalone {a.get('standalone_question')!r} != {want.standalone!r}"
    if a.get("answer") != want.text:
        return f"answer to {want.question!r} differs from its baseline"
    if [c["chunk_id"] for c in a.get("citations", [])] != want.chunk_ids:
        return f"citations for {want.question!r} differ from its baseline"
    return ""


def _api_client(url: str, headers: dict[str, str] | None, source: str | None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source) if source else None
    return httpx.Client(base_url=url, headers=headers, timeout=120, transport=transport)


def run_load(
    url: str,
    expected: dict[str, Expected],
    clients: int = 16,
    seconds: float = 60.0,
    gradio_clients: int = 4,
    headers: dict[str, str] | None = None,
    distinct_sources: bool = False,
    seed: int = 7,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """`clients` threads for `seconds`; the first `gradio_clients` use the Gradio API.

    distinct_sources: each API client connects from its own loopback address (127.0.0.10+i),
    i.e. is a different client for the per-client rate limit (Linux routes all of 127/8 to lo).
    """
    questions = list(expected)
    samples: list[Sample] = []
    lock = threading.Lock()
    stop_at = [0.0]

    def start_clock() -> None:  # runs once, before any thread is released: no client sees stop_at unset
        stop_at[0] = time.monotonic() + seconds

    start = threading.Barrier(clients + 1, action=start_clock)

    def record(s: Sample) -> None:
        with lock:
            samples.append(s)

    def api_worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        source = f"127.0.0.{10 + i}" if distinct_sources else None
        with _api_client(url, headers, source) as client:
            start.wait()
            while time.monotonic() < stop_at[0]:
                q = rng.choice(questions)
                t = time.perf_counter()
                try:
                    r = client.post("/api/ask", json={"question": q, "with_hits": False})
                    dt = time.perf_counter() - t
                    if r.status_code != 200:
                        record(Sample("api", i, dt, False, error=f"HTTP {r.status_code}: {r.text[:200]}"))
                        continue
                    bad = _check_api(r.json(), expected[q])
                    record(Sample("api", i, dt, not bad, mixup=bad))
                except Exception as exc:  # noqa: BLE001 - every failure is a counted error
                    record(Sample("api", i, time.perf_counter() - t, False, error=f"{type(exc).__name__}: {exc}"[:200]))

    def gradio_worker(i: int) -> None:
        from gradio_client import Client

        rng = random.Random(seed * 1000 + i)
        try:
            client = Client(url + "/", verbose=False, analytics_enabled=False, headers=headers, download_files=False)
        except Exception as exc:  # noqa: BLE001
            record(Sample("gradio", i, 0.0, False, error=f"connect: {type(exc).__name__}: {exc}"[:200]))
            start.wait()
            return
        start.wait()
        while time.monotonic() < stop_at[0]:
            q = rng.choice(questions)
            want = expected[q]
            t = time.perf_counter()
            try:
                text, sources = client.predict(q, api_name="/ask")
                dt = time.perf_counter() - t
                ids = [c["chunk_id"] for c in json.loads(sources)]
                bad = ""
                if text != want.text:
                    bad = f"gradio answer to {q!r} differs from its baseline"
                elif ids != want.chunk_ids:
                    bad = f"gradio citations for {q!r} differ from its baseline"
                record(Sample("gradio", i, dt, not bad, mixup=bad))
            except Exception as exc:  # noqa: BLE001
                record(Sample("gradio", i, time.perf_counter() - t, False, error=f"{type(exc).__name__}: {exc}"[:200]))
        client.close()

    threads = [
        threading.Thread(target=gradio_worker if i < gradio_clients else api_worker, args=(i,), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    start.wait()  # every client is connected: the clock starts for all of them together
    t0 = stop_at[0] - seconds
    while any(t.is_alive() for t in threads):
        time.sleep(1.0)
        if on_progress:
            with lock:
                on_progress(len(samples))
        if time.monotonic() > stop_at[0] + 180:  # a hung request: give up, and count it
            break
    wall = time.monotonic() - t0
    hung = sum(t.is_alive() for t in threads)

    errors = [s for s in samples if s.error] + [Sample("?", -1, 0, False, error="request still running 180 s after the end")] * hung
    mixups = [s for s in samples if s.mixup]
    lat: dict[str, dict[str, float]] = {"all": _stats([s.seconds for s in samples if not s.error])}
    per: dict[str, int] = {}
    for ch in ("api", "gradio"):
        vals = [s.seconds for s in samples if s.channel == ch and not s.error]
        per[ch] = sum(1 for s in samples if s.channel == ch)
        if per[ch]:
            lat[ch] = _stats(vals)
    return LoadResult(
        clients=clients,
        gradio_clients=gradio_clients,
        seconds=round(wall, 2),
        requests=len(samples),
        errors=len(errors),
        mixups=len(mixups),
        throughput_rps=round(len(samples) / wall, 2) if wall else 0.0,
        latency_s=lat,
        error_examples=sorted({e.error for e in errors})[:10],
        mixup_examples=sorted({m.mixup for m in mixups})[:10],
        per_channel=per,
        min_per_client=min(sum(1 for s in samples if s.client == i and not s.error) for i in range(clients)),
        questions=len(questions),
        baseline_cites_gold=sum(1 for e in expected.values() if e.cites_gold),
    )


# --- the server --------------------------------------------------------------------------------


def rss_mb(pid: int) -> dict[str, float]:
    """Current and peak resident memory of a process (Linux /proc)."""
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out["rss" if key == "VmRSS" else "peak"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def start_server(index_dir: Path, log: Path, cache_dir: Path | None = None) -> ServeProcess:
    """`python -m qa.cli serve --host 127.0.0.1 --port <free> --no-build` on `index_dir` (not yet waited for:
    call `wait_ready()`), offline extractive, the per-client rate limit out of the way; stopped with
    SIGINT (then SIGKILL)."""
    env = server_env(index_dir, cache_dir or Path(index_dir) / "cache", QA_RATE_LIMIT_PER_MINUTE="1000000")
    return ServeProcess(env, ["--no-build"], log=log, start_timeout=300, poll=0.3).launch()


# --- command line ------------------------------------------------------------------------------


def _progress_printer(every: float = 10.0) -> Callable[[int], None]:
    last = [time.monotonic()]

    def show(n: int) -> None:
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            print(f"  {n} answers so far", file=sys.stderr)

    return show


def markdown(result: LoadResult, rss: dict[str, Any], command: str) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        f"{result.clients} concurrent clients ({result.clients - result.gradio_clients} on /api/ask, "
        f"{result.gradio_clients} on the Gradio API `/ask`) for {result.seconds:.0f} s, "
        f"{result.questions} distinct gold questions:",
        "",
        "| channel | requests | p50 s | p95 s | p99 s | max s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for ch in ("api", "gradio", "all"):
        if ch in result.latency_s:
            s = result.latency_s[ch]
            n = result.requests if ch == "all" else result.per_channel.get(ch, 0)
            lines.append(f"| {ch} | {n} | {s['p50']:.3f} | {s['p95']:.3f} | {s['p99']:.3f} | {s['max']:.3f} |")
    lines += [
        "",
        f"- throughput: **{result.throughput_rps:.2f} answers/s**",
        f"- errors: **{result.errors}**, mix-ups: **{result.mixups}**; least served client: {result.min_per_client} answers",
        f"- server RSS: {rss.get('before', {}).get('rss', '?')} MB after warm-up → "
        f"{rss.get('after', {}).get('rss', '?')} MB after the load (peak {rss.get('after', {}).get('peak', '?')} MB); "
        f"growth {rss.get('growth_mb', '?')} MB (bound {rss.get('bound_mb', '?')} MB)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, default=ROOT / "index", help="index to serve (QA_INDEX_DIR)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: <index-dir>/cache)")
    ap.add_argument("--url", default="", help="use a running server instead of starting one (RSS not measured)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--gradio-clients", type=int, default=4, help="how many of the clients use the Gradio API")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--questions", type=int, default=60, help="sample of gold questions (0 = all)")
    ap.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-rss-growth-mb", type=float, default=200.0)
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument("--log", type=Path, default=Path("/tmp/qa-loadtest-server.log"))
    args = ap.parse_args(argv)
    if args.seconds > 900 or args.clients > 64:
        ap.error("bounded test: at most 900 seconds and 64 clients")
    command = "python eval/loadtest.py " + " ".join(argv if argv is not None else sys.argv[1:])

    server = None
    url = args.url.rstrip("/")
    if not url:
        server = start_server(args.index_dir, args.log, cache_dir=args.cache_dir)
        print(f"starting qa serve on {server.url} (log: {args.log}) …", file=sys.stderr)
        server.wait_ready()
        url = server.url
    try:
        questions = load_questions(args.gold, args.questions, args.seed)
        t = time.perf_counter()
        expected = baseline(url, questions)
        print(f"baseline: {len(expected)} questions in {time.perf_counter() - t:.1f}s (one at a time)", file=sys.stderr)
        rss: dict[str, Any] = {"bound_mb": args.max_rss_growth_mb}
        if server:
            rss["before"] = rss_mb(server.proc.pid)
        result = run_load(
            url, expected, clients=args.clients, seconds=args.seconds, gradio_clients=args.gradio_clients, seed=args.seed,
            on_progress=_progress_printer(),
        )  # fmt: skip
        healthy = httpx.get(url + "/api/health", timeout=10).status_code == 200
        if server:
            rss["after"] = rss_mb(server.proc.pid)
            rss["growth_mb"] = round(rss["after"].get("rss", 0) - rss["before"].get("rss", 0), 1)
        result.rss_mb = {k: v for k, v in rss.items() if isinstance(v, (int, float))}
    finally:
        if server:
            server.stop()
    report = markdown(result, rss, command)
    print(report)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps({**result.to_dict(), "rss": rss, "healthy_after": healthy, "command": command}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )
    grew = server is not None and rss.get("growth_mb", 0) > args.max_rss_growth_mb
    return 0 if (result.errors == 0 and result.mixups == 0 and healthy and not grew) else 1


if __name__ == "__main__":
    sys.exit(main())
