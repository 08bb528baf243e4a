"""Helpers for tests and benchmarks (throwaway servers); nothing here runs in production."""
