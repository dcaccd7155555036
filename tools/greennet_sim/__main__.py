"""`python -m greennet_sim`."""

from .cli import main

main()
