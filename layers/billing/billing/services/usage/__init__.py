"""Usage use cases."""
