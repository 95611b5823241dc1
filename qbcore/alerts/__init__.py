"""Alerts: rules over the sync's health, messages per channel, an outbox sent with retries and never twice."""
