"""``python -m spotadvisor``."""

from spotadvisor.cli import main

if __name__ == "__main__":
    main()
