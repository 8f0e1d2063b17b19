"""Presigned photo uploads for large photos on flaky networks."""
