"""HTTP layer: thin raw-ASGI handlers over the gateway."""
