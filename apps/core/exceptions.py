"""Domain exceptions that services raise and the API maps to its error envelope."""


class ConflictError(Exception):
    """The action contradicts the current state of the data (answered with 409)."""

    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)
