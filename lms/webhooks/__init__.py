"""Webhooks: admins register HTTPS endpoints for domain events; the notifications worker delivers them signed."""
