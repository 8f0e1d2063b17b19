"""Citizen sign-in by phone number (one-time code by SMS), claims, and notification subscriptions."""
