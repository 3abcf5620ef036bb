"""The message bus against a live Loam: batches, history pages, subscriptions that resume, purged positions.

(The test server purges every second: LOAM_BUS_PURGE_INTERVAL_MS in sdks/testserver.mjs.)"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Dict, List

import pytest

import loam


class CuttingProxy:
    """A TCP proxy to Loam that cuts the first /stream connection once `cut_after` messages went through it."""

    def __init__(self, upstream: str, cut_after: int) -> None:
        host, port = upstream.split("://")[1].split(":")
        self.upstream = (host, int(port))
        self.cut_after = cut_after
        self.streams: List[str] = []  # the request line of every /stream connection
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(down,), daemon=True).start()

    def _serve(self, down: socket.socket) -> None:
        up = socket.create_connection(self.upstream)
        first = down.recv(65536)
        line = first.split(b"\r\n", 1)[0].decode()
        cut = False
        if "/stream" in line:
            self.streams.append(line)
            cut = len(self.streams) == 1
        up.sendall(first)
        threading.Thread(target=self._pipe, args=(down, up), daemon=True).start()
        seen = 0
        try:
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                down.sendall(chunk)
                seen += chunk.count(b"event: message")
                if cut and seen >= self.cut_after:
                    break
        except OSError:
            pass
        for s in (down, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self.listener.close()


def msg(i: int) -> Dict[str, object]:
    return {"type": "note", "data": {"n": i}}


def test_send_batch_history_list_get_token_delete(client: loam.Client, unique: str) -> None:
    sid = f"sdk-{unique}:chat"
    sent = client.sessions.send(sid, [msg(i) for i in range(1, 6)])
    assert [m.position for m in sent] == [1, 2, 3, 4, 5] and all(isinstance(m, loam.BusMessage) for m in sent)
    [one] = client.sessions.send(sid, msg(6))
    assert one.position == 6 and one.type == "note" and one.data == {"n": 6} and one.id
    assert [m.position for m in client.sessions.messages(sid, after=2, limit=2)] == [3, 4]
    assert [m.data["n"] for m in client.sessions.history(sid, page_size=2)] == [1, 2, 3, 4, 5, 6]  # four pages
    assert [m.position for m in client.sessions.history(sid, after=4)] == [5, 6]
    session = client.sessions.get(sid)
    assert isinstance(session, loam.Session) and session.id == sid and session.head == 6 and session.purged_through == 0
    client.sessions.send(f"sdk-{unique}:other", msg(1))
    listed = client.sessions.list(prefix=f"sdk-{unique}:", limit=1)
    assert [s.id for s in listed] == [f"sdk-{unique}:chat", f"sdk-{unique}:other"]  # two pages of one
    token = client.sessions.token(sid)
    assert token.token and token.expires_in > 0
    client.sessions.delete(sid)
    with pytest.raises(loam.NotFoundError):
        client.sessions.get(sid)


def test_subscribe_earlier_and_live_messages_in_order_and_resume_without_duplicates(
    client: loam.Client, server: Dict[str, str], unique: str
) -> None:
    sid = f"sdk-{unique}:live"
    client.sessions.send(sid, [msg(i) for i in range(1, 4)])  # before the subscription
    proxy = CuttingProxy(server["url"], cut_after=2)
    started: List[bool] = []
    reconnects: List[Exception] = []

    def on_started(head: int, after: int, reconnected: bool) -> None:
        started.append(reconnected)
        # live messages, sent once the subscription is live, and once it has resumed
        client.sessions.send(sid, [msg(6)] if reconnected else [msg(4), msg(5)])

    got: List[int] = []
    with loam.Client(api_key=server["api_key"], base_url=proxy.url) as via_proxy:
        for m in via_proxy.sessions.subscribe(sid, after=0, on_started=on_started, on_reconnect=lambda e, n: reconnects.append(e)):
            got.append(m.position)
            if m.position == 6:
                break
    proxy.close()
    assert got == [1, 2, 3, 4, 5, 6]
    assert started == [False, True] and len(reconnects) == 1
    assert len(proxy.streams) == 2 and "after=0" in proxy.streams[0] and "after=0" not in proxy.streams[1]


def test_async_subscribe_and_history(server: Dict[str, str], unique: str) -> None:
    sid = f"sdk-{unique}:async"

    async def run() -> List[int]:
        async with loam.AsyncClient(api_key=server["api_key"], base_url=server["url"]) as ac:
            await ac.sessions.send(sid, [msg(1), msg(2)])
            assert [m.position async for m in ac.sessions.history(sid, page_size=1)] == [1, 2]
            got: List[int] = []

            async def live() -> None:
                await ac.sessions.send(sid, msg(3))

            tasks = []
            async for m in ac.sessions.subscribe(sid, after=1, on_started=lambda *_: tasks.append(asyncio.ensure_future(live()))):
                got.append(m.position)
                if m.position == 3:
                    break
            await asyncio.gather(*tasks)
            return got

    assert asyncio.run(run()) == [2, 3]


def test_subscribe_stops_on_errors_a_retry_cannot_fix(server: Dict[str, str], unique: str) -> None:
    with loam.Client(api_key="loam_sk_wrong", base_url=server["url"]) as bad:
        with pytest.raises(loam.AuthenticationError):
            next(iter(bad.sessions.subscribe(f"sdk-{unique}:x")))


def test_schemas_and_retention(client: loam.Client, unique: str) -> None:
    prefix = f"sdk-{unique}-typed:"
    schema = {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]}
    put = client.sessions.put_schema(prefix, schema)
    assert put.prefix == prefix and put.schema == schema
    assert prefix in [s.prefix for s in client.sessions.schemas()]
    client.sessions.send(prefix + "1", {"data": {"amount": 3}})
    with pytest.raises(loam.BadRequestError):
        client.sessions.send(prefix + "1", {"data": {"amount": "three"}})
    client.sessions.delete_schema(prefix)
    assert prefix not in [s.prefix for s in client.sessions.schemas()]
    rule = client.sessions.put_retention(prefix, max_age_sec=3600)
    assert (rule.prefix, rule.max_age_sec, rule.max_messages) == (prefix, 3600, None)
    assert any(r.prefix == prefix and r.max_age_sec == 3600 for r in client.sessions.retention())
    client.sessions.delete_retention(prefix)
    assert prefix not in [r.prefix for r in client.sessions.retention()]


def test_purged_positions_answer_410(client: loam.Client, unique: str) -> None:
    """The bus.purge job runs every second on the test server: this test waits for a run."""
    prefix = f"sdk-{unique}-purge:"
    sid = prefix + "1"
    client.sessions.put_retention(prefix, max_messages=2)
    client.sessions.send(sid, [msg(i) for i in range(1, 6)])
    deadline = time.monotonic() + 90
    while client.sessions.get(sid).purged_through < 3:
        assert time.monotonic() < deadline, "the purge job did not run within 90 s"
        time.sleep(0.5)
    with pytest.raises(loam.APIError) as info:
        client.sessions.messages(sid, after=0)
    assert info.value.status == 410 and info.value.code == "position_purged"
    with pytest.raises(loam.APIError) as info:
        next(iter(client.sessions.subscribe(sid, after=1)))
    assert info.value.status == 410
    assert [m.position for m in client.sessions.history(sid, after=3)] == [4, 5]
    client.sessions.delete_retention(prefix)
