"""Group Portal API: the GraphQL backend of a dental carrier's group self-service portal."""
