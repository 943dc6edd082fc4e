"""Recorded LLM runs (cassettes) and the teams that made them, replayable with no model."""
