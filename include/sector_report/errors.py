"""Errors that retrying cannot fix: the DAG turns them into failed tasks without retries."""


class ReportError(Exception):
    """Bad input, bad parameters or failed validation."""


class InputFileError(ReportError):
    """The input file cannot be read as transactions."""


class ValidationFailed(ReportError):
    """Flink's output does not reconcile with the input's control totals."""
