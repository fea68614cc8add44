"""Wait for a file to arrive in a folder, deferred to the triggerer so no worker slot is held.

Knows nothing of what the file holds: a folder, name patterns, and when a file counts as
complete (a control file beside it, or no change for a while).
"""
