"""Security use cases run by schedules: key rotation."""
