"""Kafka plumbing: the local Tansu broker for the embedded default, and explicit topic creation."""
