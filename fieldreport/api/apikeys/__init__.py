"""Open311 API keys, managed by administrators."""
