"""Audit pages. The owner dashboard (/owner/) and the /owner/ URL root live in the console
app (console/views.py, console/urls_owner.py), which reports across apps."""
