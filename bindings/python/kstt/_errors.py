class Error(Exception):
    """An error of libkstt (or of the package around it): str(e) is the library's message,
    e.status the kstt status code (a negative KSTT_E* value, see kstt.h)."""

    def __init__(self, message, status=-1):
        super().__init__(message)
        self.status = status
