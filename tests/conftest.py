"""Test-session setup shared by all tests."""
