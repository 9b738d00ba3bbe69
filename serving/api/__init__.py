"""The HTTP layer: dependencies, conversions to the API models, and thin routers."""
