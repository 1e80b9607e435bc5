#!/usr/bin/env python3
"""The stock Django login the proxy test runs behind `loginguard proxy`."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lgsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
