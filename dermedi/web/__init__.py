"""The denial team's web workspace (``dermedi web``): FastAPI + Jinja2 over the CLI's database."""
