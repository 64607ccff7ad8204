"""Numbered SQL migrations, applied by `billing migrate` (billing.ports.migrate)."""
