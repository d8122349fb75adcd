"""Contender: LinuxForHealth x12 0.57 (PyPI linuxforhealth-x12, pydantic<2) parses an 837P
into validated models, one transaction set at a time; count the claims (2300 loops under
2000B and 2000C).  Run with bench/venvs/lfh/bin/python.  Prints the claim count."""

import sys

from linuxforhealth.x12.io import X12ModelReader

claims = 0
with X12ModelReader(sys.argv[1]) as reader:
    for model in reader.models():
        for billing in model.loop_2000a:
            for subscriber in billing.loop_2000b:
                claims += len(subscriber.loop_2300 or [])
                for patient in subscriber.loop_2000c or []:
                    claims += len(patient.loop_2300 or [])
print(claims)
