"""Errors that mean "the user asked for something wrong" (exit code 2, one line, no traceback)."""


class UserError(Exception):
    """A mistake in the user's input: a bad flag, file, key or value.

    The CLI prints ``gankit: error: <message>`` on one line and exits with status 2.
    The message should name the file/flag/key and say what is wrong with it.
    """
