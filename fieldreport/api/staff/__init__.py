"""The staff API: queues, report detail, workflow actions, triage, failed jobs."""
