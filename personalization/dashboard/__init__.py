"""The customer's own dashboard: what the shop knows, history, modes, likes and restrictions."""
