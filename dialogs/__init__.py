"""Conversations as state machines (transitions): states, triggers, and the words the bot says."""
