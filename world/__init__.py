"""Vetrina world: the pure, synchronous simulation (numpy, pydantic, stdlib). Time is passed in."""
