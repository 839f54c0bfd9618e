"""Exact unlearning: the served recommendation model stops depending on a customer's rows."""
