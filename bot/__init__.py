"""Guichet: a French guided chatbot for France services counters."""
