"""Use cases. GraphQL and every REST dialect call these; no rule is implemented twice."""
