"""Use cases: plain functions that own their transaction and raise domain exceptions."""
