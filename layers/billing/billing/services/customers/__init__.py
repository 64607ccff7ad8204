"""Customer use cases."""
