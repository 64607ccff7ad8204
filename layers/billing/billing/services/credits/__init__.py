"""Credit use cases."""
