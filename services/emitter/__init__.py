"""Emitter SDK for attendance microservices."""

from services.emitter.client import Emitter, EmitterBufferFull, EmitterError

__all__ = ["Emitter", "EmitterBufferFull", "EmitterError"]
