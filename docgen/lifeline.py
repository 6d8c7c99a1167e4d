"""Imported by the workers' forkserver only (its preload): the server dies with docgen's main
process, so its workers (which die with it) never outlive the command."""

from docgen.lifecycle import die_with_parent, ignore_interrupts, main_process, name_pool_server

# Its parent is docgen's main process; if that was killed before this line, exit at once.
die_with_parent(main_process())
ignore_interrupts()
name_pool_server()
