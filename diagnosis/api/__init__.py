"""REST routes, auth and error handling of assisted diagnosis (mounted by the hospital service)."""
