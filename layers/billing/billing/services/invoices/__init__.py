"""Invoice use cases: generate, issue, document storage, queries."""
