"""Deployment configuration: one Config class read from FIELDREPORT_* variables."""
