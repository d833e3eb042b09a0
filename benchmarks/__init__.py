"""tripwire's benchmarks: tripwire beside the alternatives, in one run.

Run them with ``make bench`` (or ``python -m benchmarks``); see
``docs/performance.md`` for what each measurement is and the latest table.
"""
