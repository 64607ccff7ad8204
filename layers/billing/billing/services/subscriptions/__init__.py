"""Subscription use cases run by schedules."""
