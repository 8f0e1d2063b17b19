"""Report categories (the Open311 services) as the mobile app sees them."""
