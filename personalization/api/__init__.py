"""The REST API for the shop's systems (`/api/v1/`)."""
