"""The index, end to end: `qa index` killed at random moments, a damaged index, an unwritable one.

tests/index/test_store.py already kills a process inside IndexStore.save and checks each kind of
damage at the store level; here the angle is what a person sees:
* SIGKILL the real `python -m qa.cli index <corpus> --index-dir D` at random points (import,
  ingest, embedding, save, swap): afterwards the Assistant still loads D and gives a cited answer;
* a damaged / mismatched / half-missing index: `qa ask` exits with code 2 and a message that says
  to run `qa index` (no traceback, no answer from a bad index); `qa index` repairs it;
* an index location that cannot be written: a clear IndexStoreError before any embedding, and the
  previous index keeps answering. Tests run as root, so chmod cannot make a directory read-only;
  instead the path is made impossible to create (a component of it is a regular file).

A small real corpus (two or three documents cut out of seeds/) keeps each `qa index` run to seconds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.answer.pipeline import Assistant
from qa.config import Settings, load_settings
from qa.index import IndexBuilder, IndexStore, IndexStoreError
from qa.index.store import POINTER
from support import ROOT, article_of

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("QA_TEST_KILLS", "6"))
SEED = int(os.environ.get("QA_TEST_KILL_SEED", "20240607"))
CANDIDATES = [  # questions about a.txt (in both corpora); the first one answered is used
    "重点项目建设专项扶持资金的补助标准是多少？",
    "招远市重点项目投资强度达到320万元/亩的，补助标准是多少？",
    "骗取专项扶持资金如何处理？",
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", QA_LLM_BASE_URL="", **extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return env


def qa_index_cmd(corpus: Path, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "index", str(corpus), "--index-dir", str(index_dir)]


def settings_for(index_dir: Path) -> Settings:
    # `qa index --index-dir D` keeps its embedding cache in D/cache; load the same way
    return load_settings(index_dir=index_dir, cache_dir=index_dir / "cache", llm_base_url="")


def _seed_cache(cache_dir: Path) -> None:
    """Start D/cache from the session's shared embedding cache (a consistent sqlite snapshot), so
    the first `qa index` is warm too; content-addressed, so any missing text is simply embedded."""
    import sqlite3

    from qa.embed.cache import EmbeddingCache

    shared = Path(os.environ.get("QA_TEST_EMBED_CACHE", "")) / EmbeddingCache.FILENAME
    if not shared.is_file():
        return
    cache_dir.mkdir(parents=True)
    src, dst = sqlite3.connect(shared), sqlite3.connect(cache_dir / EmbeddingCache.FILENAME)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@dataclass
class Live:
    base: Path
    small: Path  # corpus a.txt + b.txt
    large: Path  # corpus a.txt + b.txt + c.txt
    index_dir: Path
    seconds: float  # one warm `qa index` run, start to exit
    question: str
    chunks: dict[str, int]  # corpus name -> chunk count


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, doc_texts: dict[str, str]) -> Live:  # noqa: ANN001
    base = tmp_path_factory.mktemp("kill")
    small, large = base / "small", base / "large"
    for corpus, names in ((small, ("a.txt", "b.txt")), (large, ("a.txt", "b.txt", "c.txt"))):
        corpus.mkdir()
        for name in names:
            (corpus / name).write_text(doc_texts[name], encoding="utf-8")
    index_dir = base / "index"
    _seed_cache(index_dir / "cache")
    chunks = {}
    for corpus in (large, small):  # the first run embeds (cold), the second is timed (warm)
        t = time.monotonic()
        done = subprocess.run(qa_index_cmd(corpus, index_dir), env=_env(), capture_output=True, text=True, timeout=300)
        seconds = time.monotonic() - t
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        chunks[corpus.name] = len(IndexStore.load(index_dir).chunks)
    assistant = Assistant(settings_for(index_dir))
    question = next((q for q in CANDIDATES if assistant.ask(q).citations), None)
    assert question, f"none of {CANDIDATES} is answered from the small corpus"
    shutil.copytree(index_dir, base / "pristine")  # healthy copies for the damage tests
    return Live(base, small, large, index_dir, seconds, question, chunks)


def assert_answers(index_dir: Path, question: str) -> None:
    a = Assistant(settings_for(index_dir)).ask(question)
    assert not a.refused and a.citations, a.text
    retrieved = {article_of(h.chunk_id) for h in a.hits}  # a cited article was retrieved (any of its pieces)
    assert all(article_of(c.chunk_id) in retrieved and c.quote for c in a.citations)


def test_sigkill_qa_index_at_random_points_keeps_a_working_index(live: Live) -> None:
    rng = random.Random(SEED)
    counts = set(live.chunks.values())
    killed = in_save = 0
    for i in range(KILLS):
        corpus = live.large if i % 2 == 0 else live.small  # alternate, so every swap changes the index
        proc = subprocess.Popen(qa_index_cmd(corpus, live.index_dir), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        if i % 2 == 0:  # anywhere: imports, model load, ingest, embedding, save
            time.sleep(rng.uniform(0.05, 0.8) * live.seconds)
        else:  # inside the save/swap: as soon as the new generation's temp dir appears, plus 0–60 ms
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if any(p.name.startswith(".tmp-gen-") for p in live.index_dir.iterdir()):
                    time.sleep(rng.uniform(0.0, 0.06))
                    in_save += proc.poll() is None
                    break
                time.sleep(0.002)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), err.decode(errors="replace")[-2000:]
        store = IndexStore.load(live.index_dir)  # never raises, whenever the kill came
        assert len(store.chunks) in counts, (i, delay, len(store.chunks))
        assert store.manifest["corpus_hash"] and store.manifest["chunk_count"] == len(store.chunks)
        assert_answers(live.index_dir, live.question)
    print(f"qa index killed {killed} of {KILLS} times, {in_save} inside the save (seed {SEED}, warm run {live.seconds:.1f}s)")
    assert killed >= KILLS - 2, f"only {killed} of {KILLS} runs were killed before they finished"

    # the next complete run cleans up whatever the killed runs left behind
    done = subprocess.run(qa_index_cmd(live.small, live.index_dir), env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    leftovers = sorted(p.name for p in live.index_dir.iterdir() if p.name.startswith(".tmp-gen-"))
    generations = sorted(p.name for p in live.index_dir.iterdir() if p.is_dir() and p.name.startswith("gen-"))
    assert leftovers == [] and len(generations) == 1
    assert (live.index_dir / POINTER).read_text(encoding="utf-8").strip() == generations[0]
    assert len(IndexStore.load(live.index_dir).chunks) == live.chunks["small"]
    assert_answers(live.index_dir, live.question)


# --- a damaged index: clear message, no answers, `qa index` repairs -------------------------------


def _gen(index_dir: Path) -> Path:
    return index_dir / (index_dir / POINTER).read_text(encoding="utf-8").strip()


def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _flip_byte(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))


def _edit_manifest(index_dir: Path, **kw: object) -> None:
    p = _gen(index_dir) / "manifest.json"
    m = json.loads(p.read_text(encoding="utf-8"))
    m.update(kw)
    p.write_text(json.dumps(m), encoding="utf-8")


DAMAGE = {
    "truncated chunks.json": lambda d: _truncate(_gen(d) / "chunks.json"),
    "corrupted dense.faiss": lambda d: _flip_byte(_gen(d) / "dense" / "dense.faiss"),
    "missing documents.json": lambda d: (_gen(d) / "documents.json").unlink(),
    "manifest from another chunker": lambda d: _edit_manifest(d, chunker_version="0.0-old"),
    "manifest from another embedder": lambda d: _edit_manifest(d, embedder_id="st:some-other-model"),
    "manifest not JSON": lambda d: (_gen(d) / "manifest.json").write_text("{oops", encoding="utf-8"),
    "pointer to a missing generation": lambda d: shutil.rmtree(_gen(d)),
    "garbage pointer": lambda d: (d / POINTER).write_bytes(b"\xff\xfe../../etc\n"),
    "no index at all": lambda d: [shutil.rmtree(p) for p in d.iterdir() if p.is_dir() and p.name != "cache"]
    + [(d / POINTER).unlink()],
}


@pytest.fixture()
def healthy(live: Live, tmp_path: Path) -> Path:
    """A private, healthy copy of the live index (with its warm embedding cache)."""
    dst = tmp_path / "index"
    shutil.copytree(live.base / "pristine", dst)
    return dst


def _cli_ask(index_dir: Path, question: str):  # noqa: ANN202
    from qa.cli import app

    env = {"QA_INDEX_DIR": str(index_dir), "QA_CACHE_DIR": str(index_dir / "cache"), "QA_LLM_BASE_URL": ""}
    return CliRunner().invoke(app, ["ask", question, "--json"], env=env)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_clear_message_then_qa_index_repairs(live: Live, healthy: Path, e5, damage: str) -> None:  # noqa: ANN001
    assert_answers(healthy, live.question)
    DAMAGE[damage](healthy)

    with pytest.raises(IndexStoreError, match="qa index"):  # never a (wrong) answer from a bad index
        Assistant(settings_for(healthy))
    out = _cli_ask(healthy, live.question)
    assert out.exit_code == 2, out.output
    assert isinstance(out.exception, SystemExit)  # handled, not a crash
    assert "qa index" in out.output and "Traceback" not in out.output and "来源" not in out.output

    report = IndexBuilder(settings_for(healthy), embedder=e5, log=lambda m: None).run([live.small], progress=False)
    assert report.embedded == 0  # the repair reuses the cache: seconds, not minutes
    assert_answers(healthy, live.question)
    ok = _cli_ask(healthy, live.question)
    assert ok.exit_code == 0, ok.output
    answer = json.loads(ok.output)
    assert answer["citations"] and not answer["refused"]


def test_damaged_index_real_cli_round_trip(live: Live, healthy: Path) -> None:
    """The same through real processes: `qa ask` (exit 2, message) → `qa index` → `qa ask` (answer)."""
    _truncate(_gen(healthy) / "chunks.json")
    env = _env(QA_INDEX_DIR=str(healthy), QA_CACHE_DIR=str(healthy / "cache"))
    ask = [sys.executable, "-m", "qa.cli", "ask", live.question]
    bad = subprocess.run(ask, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "qa index" in bad.stderr and "Traceback" not in bad.stderr + bad.stdout
    assert bad.stdout.strip() == ""  # nothing that looks like an answer
    fix = subprocess.run(qa_index_cmd(live.small, healthy), env=_env(), capture_output=True, text=True, timeout=300)
    assert fix.returncode == 0, fix.stderr[-2000:]
    good = subprocess.run(ask, env=env, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and "来源" in good.stdout and "[1]" in good.stdout, good.stderr[-2000:]


# --- an index location that cannot be written ------------------------------------------------------


def test_unwritable_index_dir_is_a_clear_error(live: Live, tmp_path: Path, e5) -> None:  # noqa: ANN001
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a directory", encoding="utf-8")
    settings = settings_for(blocker / "index")
    with pytest.raises(IndexStoreError, match="不可写 / cannot write the index directory"):
        IndexBuilder(settings, embedder=e5, log=lambda m: None).run([live.small], progress=False)
    assert blocker.read_text(encoding="utf-8") == "not a directory"

    from qa.cli import app

    out = CliRunner().invoke(app, ["index", str(live.small), "--index-dir", str(blocker / "index")])
    assert out.exit_code == 2 and isinstance(out.exception, SystemExit), out.output
    assert "cannot write the index directory" in out.output and "Traceback" not in out.output
    empty = tmp_path / "empty-corpus"
    empty.mkdir()
    out = CliRunner().invoke(app, ["index", str(empty), "--index-dir", str(tmp_path / "idx")])
    assert out.exit_code == 2 and "nothing to index" in out.output, out.output


def test_unwritable_cache_keeps_the_previous_index(live: Live, healthy: Path, e5) -> None:  # noqa: ANN001
    before = IndexStore.load(healthy).path
    settings = settings_for(healthy).with_overrides(cache_dir=healthy / "CURRENT" / "cache")  # under a file
    with pytest.raises(IndexStoreError, match="cannot write"):
        IndexBuilder(settings, embedder=e5, log=lambda m: None).run([live.large], progress=False)
    assert IndexStore.load(healthy).path == before  # untouched
    assert_answers(healthy, live.question)
