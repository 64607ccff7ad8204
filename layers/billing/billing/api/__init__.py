"""HTTP edge: request/response models, the caller from JWT claims, and the one error -> problem+json mapping."""
