"""Celery tasks for reconciliation (sweep, batches, retention checks)."""
