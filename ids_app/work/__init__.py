"""The day's work: what waits for each person, gathered across studies (no Qt)."""
