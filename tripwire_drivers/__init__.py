"""Built-in tripwire drivers, one sub-package each."""

__all__: list[str] = []
