"""Citizen reports on the mobile API: submission, public views, follow, rate, reopen."""
