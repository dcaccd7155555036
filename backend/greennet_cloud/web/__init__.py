"""HTTP layer: app factory, middleware, endpoint table, routes per resource, OpenAPI."""
