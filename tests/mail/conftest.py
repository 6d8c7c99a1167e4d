"""The loopback SMTP server fixture for the mail tests."""

from tests.mail.support import server  # noqa: F401  (a fixture, found by pytest here)
