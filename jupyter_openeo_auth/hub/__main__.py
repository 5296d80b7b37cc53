"""`python -m jupyter_openeo_auth.hub`: the hub's token service (see token_service)."""

from .token_service import main

main()
