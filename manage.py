#!/usr/bin/env python
import os
import sys
from pathlib import Path


def main() -> None:
    # `make manage ARGS=…` points this at make run's recorded environment (reachkit/devenv.py).
    env_file = os.environ.get("REACHKIT_ENV_FILE", "").strip()
    if env_file:
        from reachkit import devenv

        try:
            devenv.load(Path(env_file), os.environ)
        except devenv.EnvFileError as error:
            sys.exit(str(error))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reachkit.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
