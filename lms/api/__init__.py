"""The public JSON API under /api/v1 (see views and the OpenAPI document it serves)."""
