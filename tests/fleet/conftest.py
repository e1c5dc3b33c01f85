"""The engine's emulator-in-its-own-process fixture, for the CLI run as a subprocess."""

from tests.engine.conftest import moto_process

__all__ = ["moto_process"]
