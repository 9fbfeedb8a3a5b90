"""What the blocklist tells the apps that keep state derived from it (leads' `is_blocklisted`),
without importing them: blocklist is a leaf.

Both are sent by blocklist.services inside the transaction that changed the entries, after
the change and under the workspace's blocklist lock, so a receiver's writes commit or roll
back with the entries and see every other change to this workspace's blocklist committed.
Keyword arguments: `workspace_id`, `emails` and `domains` (the entries' normalised values).
"""

from django.dispatch import Signal

entries_added = Signal()
entries_removed = Signal()
