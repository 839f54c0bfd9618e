"""Data-rights requests (export, erasure, objection) and retention."""
