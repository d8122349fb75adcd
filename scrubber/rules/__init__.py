"""dermedi: scrubber/rules."""
