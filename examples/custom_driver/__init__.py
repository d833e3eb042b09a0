"""A custom tripwire driver, end to end: a client library, code that uses it,
the driver that fakes it (``tripwire.kv``) and the tests that use the driver.

docs/custom-drivers.md walks through it.
"""
