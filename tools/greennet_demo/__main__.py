"""`python -m greennet_demo`."""

from .cli import main

main()
