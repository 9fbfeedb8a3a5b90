"""The sending engine. Each module imports only those below it (import-linter checks it):

services     the public surface: what tasks, commands, pages and the unified inbox call
passes       one scheduler pass, stale-claim recovery and reconciliation first
delivery     claimed rows over one SMTP session per inbox;  reconcile  unknown outcomes
scheduler    who is due, from which inbox;  compose  the message;  smtp  the transaction
outbox       the outbox's writes and counters;  protection  bounce protection
rules        stop rules, skip reasons, outcomes, day bounds: pure
"""
