"""The base of the per-feature assertion mixins of :class:`AsyncpgPlugin`."""

from __future__ import annotations

from typing import Any

__all__ = ["Assertions"]


class Assertions:
    """Declares what the mixins call; :class:`DriverPlugin` provides it."""

    def assert_step(self, step: str, /, **fields: Any) -> None:
        raise NotImplementedError  # pragma: no cover - DriverPlugin's comes first
