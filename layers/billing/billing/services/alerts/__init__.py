"""Billing alert use cases."""
