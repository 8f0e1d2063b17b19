"""Sign-in for staff, dispatchers, supervisors and admins: short-lived bearer tokens."""
