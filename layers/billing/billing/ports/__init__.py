"""Adapters to the outside: PostgreSQL (db), S3/MinIO (storage), Redis (cache), SMTP (mail), PDF rendering."""
