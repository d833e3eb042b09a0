"""``python -m benchmarks``: run every measurement, print the table, write results.json."""

from .run import main

raise SystemExit(main())
