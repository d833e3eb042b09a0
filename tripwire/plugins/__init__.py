"""Import paths kept for the documented API (``tripwire.plugins.<name>_plugin``)."""

__all__: list[str] = []
