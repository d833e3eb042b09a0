"""Example: a user store on sqlite3, tested with tripwire."""
