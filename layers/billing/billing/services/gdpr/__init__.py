"""GDPR use cases: consent records, export, erasure, and the purge of documents past retention."""
