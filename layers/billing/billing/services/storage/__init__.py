"""Document storage use cases."""
