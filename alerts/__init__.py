"""Spike detection, the alert checker and alert delivery (e-mail, outbox)."""
