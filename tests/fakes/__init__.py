"""Stand-ins for the outside services Haven talks to, for tests."""
