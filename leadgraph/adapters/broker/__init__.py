"""Event brokers: in-process (single replica) and Redis pub/sub (several replicas)."""
