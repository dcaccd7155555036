"""Passwords, tokens and secrets: pure functions and small classes, no HTTP, no SQL."""
