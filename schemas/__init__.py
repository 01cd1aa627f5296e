"""Contracts: collection events, the policy file model, and the exported JSON Schema."""
