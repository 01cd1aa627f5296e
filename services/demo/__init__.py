"""A simulated attendance company emitting realistic collection events."""
