"""Contender: x12sdk (PyPI, maintained continuation of LinuxForHealth x12) parses an 837P
into validated Pydantic models, one transaction set at a time; count the claims.
Run with bench/venvs/x12sdk/bin/python.  Prints the claim count."""

import sys

from x12sdk.io import X12ModelReader

claims = 0
with X12ModelReader(sys.argv[1]) as reader:
    for model in reader.models():
        for _claim in model.claims():
            claims += 1
print(claims)
