"""Fixtures: a live Loam started by sdks/testserver.mjs, and a flaky proxy in front of it."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

import loam

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def server() -> Iterator[Dict[str, str]]:
    url = os.environ.get("LOAM_TEST_URL")
    if url:  # an already running server (debugging)
        yield {"url": url, "api_key": os.environ["LOAM_TEST_API_KEY"]}
        return
    node = os.environ.get("NODE", "node")
    proc = subprocess.Popen(
        [node, str(ROOT / "sdks" / "testserver.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(ROOT), text=True
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        raise RuntimeError("sdks/testserver.mjs did not start Loam (did you run `npm run build`?)")
    info = json.loads(line)
    yield info
    if proc.stdin:
        proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture(scope="session")
def client(server: Dict[str, str]) -> Iterator[loam.Client]:
    with loam.Client(api_key=server["api_key"], base_url=server["url"]) as c:
        yield c


@pytest.fixture()
def unique() -> str:
    return uuid.uuid4().hex[:10]


class FlakyProxy:
    """Forwards to Loam, but answers the first requests from a script: e.g. [503, (429, "1")]."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: List[Any] = []
        self.seen: List[Dict[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append({k.lower(): v for k, v in self.headers.items()} | {":method": self.command, ":path": self.path})
                if proxy.script:
                    step = proxy.script.pop(0)
                    status, retry_after = step if isinstance(step, tuple) else (step, None)
                    problem = json.dumps({"type": "about:blank", "title": "Injected", "status": status, "code": "injected",
                                          "detail": f"injected {status}", "request_id": "req_proxy"}).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/problem+json")
                    if retry_after is not None:
                        self.send_header("retry-after", retry_after)
                    self.send_header("content-length", str(len(problem)))
                    self.end_headers()
                    self.wfile.write(problem)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                r = httpx.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture()
def flaky(server: Dict[str, str]) -> Iterator[FlakyProxy]:
    p = FlakyProxy(server["url"])
    yield p
    p.close()
