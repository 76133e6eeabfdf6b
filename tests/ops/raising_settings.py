"""bestby's real settings (read from the environment as always), with the URLconf of raising_urls."""

from bestby.settings import *  # noqa: F401,F403

ROOT_URLCONF = "tests.ops.raising_urls"
