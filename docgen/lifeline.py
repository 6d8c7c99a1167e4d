"""Imported by the workers' forkserver only (its preload): the server dies with docgen's main
process, so its workers (which die with it) never outlive the command."""

from docgen.lifecycle import die_with_parent, ignore_interrupts

die_with_parent()
ignore_interrupts()
