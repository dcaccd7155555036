"""`python -m greennet_cloud`."""

from .cli import main

main()
