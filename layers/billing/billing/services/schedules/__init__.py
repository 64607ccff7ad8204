"""What the scheduled functions run."""
