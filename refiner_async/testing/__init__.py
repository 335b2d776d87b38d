"""Test helpers for users of refiner_async: the embedded Refiner API emulator and its pytest plugin."""
