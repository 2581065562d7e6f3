"""The app shell: the command line, the scheduler, ``serve`` and the run lock.

Parses options, calls the pipeline, prints and maps errors to exit codes. Holds no
business rules.
"""
