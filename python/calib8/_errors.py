"""calib8's statuses as Python exceptions. Every failure of a C call raises a subclass of calib8.Error whose
message is the library's sentence (calib8_last_error()) and whose .status is the calib8_status code."""
from . import _lib


class Error(Exception):
    """A calib8 failure: str(e) is the library's message, e.status the calib8_status code."""
    status = _lib.INTERNAL

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgument(Error, ValueError):
    status = _lib.INVALID_ARGUMENT


class MalformedModel(Error, ValueError):
    status = _lib.MALFORMED_MODEL


class Unsupported(Error):
    status = _lib.UNSUPPORTED


class UnsupportedHardware(Unsupported):
    status = _lib.UNSUPPORTED_HARDWARE


class OutOfMemory(Error, MemoryError):
    status = _lib.OUT_OF_MEMORY


class IOError(Error, OSError):  # noqa: A001 - calib8.IOError, an OSError as the built-in one
    status = _lib.IO


class Internal(Error, RuntimeError):
    status = _lib.INTERNAL


class Cancelled(Error):
    status = _lib.CANCELLED


class BudgetNotMet(Error):
    """No trial of calib8.auto met the accuracy budget. The best one was written all the same: .result holds
    it (a calib8.SearchResult)."""
    status = _lib.BUDGET_NOT_MET

    def __init__(self, message, status=None, result=None):
        super().__init__(message, status)
        self.result = result


_BY_STATUS = {c.status: c for c in (InvalidArgument, MalformedModel, Unsupported, UnsupportedHardware,
                                    OutOfMemory, IOError, Internal, Cancelled, BudgetNotMet)}


def error_for(status, message=None):
    """The exception for a calib8_status, with the thread's last error message unless one is given."""
    if message is None:
        message = _lib.lib.last_error().decode("utf-8", "replace")
    return _BY_STATUS.get(status, Error)(message, status)


def check(status):
    if status != _lib.OK:
        raise error_for(status)
