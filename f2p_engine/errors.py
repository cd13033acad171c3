"""Errors a user can act on. The CLI turns any F2PError into one line and exit code 2."""


class F2PError(Exception):
    """Base of every error f2p reports to a user; the message names the file and the problem."""


class InputError(F2PError):
    """An input file or value is missing, unreadable or malformed."""


class AssetError(F2PError):
    """A shipped resource (head asset, model) is missing or does not match its manifest."""
