"""RQ workers: the entrypoint (main.py) and thin job functions over services (jobs.py)."""
