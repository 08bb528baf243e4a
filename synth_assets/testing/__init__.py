"""Helpers for tests that drive the platform the way its users do (a running `dagster dev`, its GraphQL API)."""
