"""Citizen sign-in by phone number (one-time code by SMS) and the signed-in citizen's claims."""
