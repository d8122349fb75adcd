"""X12 core: streaming read, typed models, write and validate (pure: bytes in, models out)."""
