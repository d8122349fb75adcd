"""Contender: the floor.  Read the whole file and split it on the segment terminator
(ISA byte 106).  Prints the number of CLM segments (counted in C, for the check)."""

import sys

with open(sys.argv[1], "rb") as fh:
    data = fh.read()
segments = data.split(data[105:106])
print(data.count(b"CLM" + data[3:4]) if segments else 0)
