"""The entity registry: each synced entity described once (see registry.ENTITIES)."""
