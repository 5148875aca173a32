"""The one exception type of the greentrain package.

Every failure a user can cause (no GPU, no permission, unknown country, a window ended that was
never begun) raises GreentrainError whose message is the one line the greentrain command-line
tool prints for the same mistake (without its "greentrain: " prefix)."""


class GreentrainError(RuntimeError):
    """A greentrain error with the CLI's one-line message; `exit_code` when a child failed."""

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        self.exit_code = exit_code
