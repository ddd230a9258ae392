"""Invoices: drafting from the daily roll-ups, finalizing with gapless numbers, voiding,
adjustments for periods already finalized, the one place money is rounded, and exports.

Services are keyword-only functions named `invoice_<action>`; each runs in one transaction.
"""
