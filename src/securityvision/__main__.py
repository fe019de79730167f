"""``python -m securityvision`` is the ``securityvision`` command."""

from securityvision.entrypoints.cli import main

main()
