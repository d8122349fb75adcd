"""dermedi: scrubber."""
