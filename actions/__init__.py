"""Thin Rasa custom actions: translate between Rasa and bot.conversation."""
