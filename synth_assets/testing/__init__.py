"""Helpers for tests and benchmarks: throwaway servers, a running `dagster dev` and its GraphQL API; nothing here runs in production."""
