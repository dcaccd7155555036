"""Sending outbox messages: e-mail over SMTP, signed webhooks, and the worker that claims them."""
