"""The one error type a user sees: its text says what was wrong and which form works."""


class UserError(Exception):
    """Bad input or a request that cannot be met; `str(err)` is a plain-text reply for the user."""
