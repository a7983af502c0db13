"""A tiny fake of a city's Open311 GeoReport v2 endpoint, served on 127.0.0.1 in a thread.

It records every `POST .../requests.json` it receives (the form fields as a list of pairs) and
answers with what the test says: by default `[{"service_request_id": "C-<n>"}]`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

Answer = tuple[int, Any]


class FakeCity:
    """The fake endpoint's state: what it received and how it answers."""

    def __init__(self) -> None:
        self.received: list[list[tuple[str, str]]] = []
        self.paths: list[str] = []
        self.delay = 0.0
        self.answer: Callable[[list[tuple[str, str]], int], Answer] = self.created
        self.url = ""
        self._lock = threading.Lock()

    @staticmethod
    def created(_fields: list[tuple[str, str]], number: int) -> Answer:
        return 201, [{"service_request_id": f"C-{number}"}]

    def field(self, index: int, name: str) -> list[str]:
        """The values of one field in the `index`-th request received."""
        return [value for key, value in self.received[index] if key == name]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        fields = list(request.form.items(multi=True))
        with self._lock:
            self.received.append(fields)
            self.paths.append(f"{request.method} {request.path}")
            number = len(self.received)
        if self.delay:
            time.sleep(self.delay)
        status, body = self.answer(fields, number)
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, content_type="application/json")(environ, start_response)


@contextmanager
def fake_city() -> Iterator[FakeCity]:
    """A running fake endpoint; `city.url` is its Open311 base URL (without /requests.json)."""
    city = FakeCity()
    server = make_server("127.0.0.1", 0, city, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    city.url = f"http://127.0.0.1:{server.port}/open311/v2"
    try:
        yield city
    finally:
        server.shutdown()
        thread.join(timeout=5)
