"""Cursor pagination: iterate a pager for every item of every page, fetched as needed."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Generic, Iterator, List, Optional, TypeVar

T = TypeVar("T")


class Page(Generic[T]):
    """One page: ``items``, the ``cursor`` of the next page (None on the last) and ``total_count`` when asked for."""

    def __init__(self, items: List[T], cursor: Optional[str], total_count: Optional[int], raw: Any) -> None:
        self.items = items
        self.cursor = cursor
        self.total_count = total_count
        self.raw = raw

    def has_next_page(self) -> bool:
        return self.cursor is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_from_envelope(body: Any, cast: Callable[[Any], T]) -> Page[T]:
    body = body if isinstance(body, dict) else {}
    p = body.get("pagination") or {}
    cursor = p.get("cursor") if p.get("has_more") and p.get("cursor") else None
    return Page([cast(item) for item in body.get("data") or []], cursor, p.get("total_count"), body)


class SyncPager(Generic[T]):
    """``for item in pager``; ``pager.pages()``; ``pager.first_page()``; ``pager.to_list()``."""

    def __init__(self, load: Callable[[Optional[str]], Page[T]]) -> None:
        self._load = load

    def first_page(self) -> Page[T]:
        return self._load(None)

    def pages(self) -> Iterator[Page[T]]:
        page = self._load(None)
        yield page
        while page.cursor is not None:
            page = self._load(page.cursor)
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> List[T]:
        return list(self)


class AsyncPager(Generic[T]):
    """``async for item in pager``; ``pager.pages()``; ``await pager.first_page()``; ``await pager.to_list()``."""

    def __init__(self, load: Callable[[Optional[str]], Awaitable[Page[T]]]) -> None:
        self._load = load

    async def first_page(self) -> Page[T]:
        return await self._load(None)

    async def pages(self) -> AsyncIterator[Page[T]]:
        page = await self._load(None)
        yield page
        while page.cursor is not None:
            page = await self._load(page.cursor)
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def to_list(self) -> List[T]:
        return [item async for item in self]
