"""E-mail after a build: ``run`` (docgen mail), ``config`` ([mail]), ``plan`` (who gets what),
``compose`` (the messages), ``send`` (SMTP), ``log`` (mail/log.csv). Only the CLI imports it."""
