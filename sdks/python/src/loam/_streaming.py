"""Server-Sent Events parsing for streamed answers (sync and async)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Iterable, Iterator, Optional


@dataclass
class ServerSentEvent:
    data: str
    event: Optional[str] = None
    id: Optional[str] = None


class _SSEDecoder:
    def __init__(self) -> None:
        self._data: list = []
        self._event: Optional[str] = None
        self._id: Optional[str] = None

    def line(self, line: str) -> Optional[ServerSentEvent]:
        if line == "":
            if not self._data:
                self._event = None
                return None
            ev = ServerSentEvent("\n".join(self._data), self._event, self._id)
            self._data, self._event = [], None
            return ev
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def flush(self) -> Optional[ServerSentEvent]:
        return self.line("")


def iter_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events of a stream of text lines (``response.iter_lines()``)."""
    decoder = _SSEDecoder()
    for line in lines:
        ev = decoder.line(line.rstrip("\r\n"))
        if ev is not None:
            yield ev
    ev = decoder.flush()
    if ev is not None:
        yield ev


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """Events of an async stream of text lines (``response.aiter_lines()``)."""
    decoder = _SSEDecoder()
    async for line in lines:
        ev = decoder.line(line.rstrip("\r\n"))
        if ev is not None:
            yield ev
    ev = decoder.flush()
    if ev is not None:
        yield ev
