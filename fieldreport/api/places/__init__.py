"""GET /api/v1/locate: the commune and province of a point (public)."""
