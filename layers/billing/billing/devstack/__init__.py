"""The embedded local stack: services, S3, SMTP sink, gateway, dispatcher (dev only, never imported by functions)."""
