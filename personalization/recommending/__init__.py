"""The recommender's Django layer: load consented data, train, generate, store, serve.

The engine itself is plain Python in `personalization.engine`; this package only moves
data between it and the database (and Celery).
"""
