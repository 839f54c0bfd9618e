"""Consent: the hash-chained ledger, the current-consent table and their services."""
