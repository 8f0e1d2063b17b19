"""Staff accounts, managed by administrators."""
