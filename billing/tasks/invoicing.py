"""Celery tasks for invoices (monthly drafts, redrafts)."""
