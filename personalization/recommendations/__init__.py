"""Recommendations as customers see them: lists, "Why this?", feedback."""
