"""Use cases, one module per verb, grouped by noun; the API, the workers and the schedules all call these."""
