"""The timeline: every interaction of a test, in the order it happened.

Assertions consume it.  In order, an assertion compares with the first
interaction not yet asserted; a cursor that only moves forward makes that
amortized O(1) however long the timeline grows.  Inside ``in_any_order()``
an assertion takes the first unasserted interaction of the same source and
step whose fields match; per-(source, step) queues keep that cheap too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["Interaction", "Timeline"]


class Interaction:
    """One call the code under test made, as recorded."""

    __slots__ = ("asserted", "fields", "session", "source", "step", "step_index")

    def __init__(
        self, source: str, session: int, step: str, step_index: int, fields: Mapping[str, Any]
    ) -> None:
        self.source = source
        self.session = session
        self.step = step
        self.step_index = step_index
        self.fields = fields
        self.asserted = False

    def __repr__(self) -> str:
        return (
            f"<Interaction {self.source}.{self.step} "
            f"session={self.session} fields={dict(self.fields)!r}>"
        )


class Timeline:
    """Append-only list of interactions with an assertion cursor."""

    __slots__ = ("_by_key", "_cursor", "_indexed", "_items")

    def __init__(self) -> None:
        self._items: list[Interaction] = []
        self._cursor = 0
        # Built lazily, the first time an unordered assertion needs it.
        self._by_key: dict[tuple[str, str], deque[Interaction]] = {}
        self._indexed = 0

    def append(self, interaction: Interaction) -> None:
        self._items.append(interaction)

    @property
    def recorder(self) -> Callable[[Interaction], None]:
        """The bound append, for the per-call path of sessions."""
        return self._items.append

    def position(self, interaction: Interaction) -> int:
        """1-based position of *interaction* (for messages; not on the hot path)."""
        for number, item in enumerate(self._items, start=1):
            if item is interaction:
                return number
        raise ValueError(f"{interaction!r} is not on this timeline")

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self._items)

    def next_unasserted(self) -> Interaction | None:
        items = self._items
        cursor = self._cursor
        while cursor < len(items) and items[cursor].asserted:
            cursor += 1
        self._cursor = cursor
        return items[cursor] if cursor < len(items) else None

    def candidates(self, source: str, step: str) -> Iterator[Interaction]:
        """Unasserted interactions of *source*.*step*, oldest first."""
        items = self._items
        for interaction in items[self._indexed :]:
            key = (interaction.source, interaction.step)
            queue = self._by_key.get(key)
            if queue is None:
                queue = self._by_key[key] = deque()
            queue.append(interaction)
        self._indexed = len(items)
        queue = self._by_key.get((source, step))
        if not queue:
            return
        while queue and queue[0].asserted:
            queue.popleft()
        for interaction in queue:
            if not interaction.asserted:
                yield interaction

    def unasserted(self) -> list[Interaction]:
        return [i for i in self._items[self._cursor :] if not i.asserted]
