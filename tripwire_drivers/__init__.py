"""Built-in tripwire drivers, one sub-package each."""
