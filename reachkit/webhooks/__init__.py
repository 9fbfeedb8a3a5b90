"""Webhooks and the event feed: everything that happens in a workspace, as events.

Feature apps report what happened with `reachkit.webhooks.events.emit` inside the
transaction that makes the change (an outbox: never lost, never phantom). The feed
(`GET /api/v1/events`) reads the events; a worker on the `webhooks` queue delivers them,
signed per the Standard Webhooks specification, to each workspace's endpoints.
"""
