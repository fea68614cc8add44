"""A JDK class-data-sharing archive of the planner's classes, so later JVMs start over a second faster.

Start-up is most of a small job's time: the first run with a class-data folder writes an archive
when its JVM exits normally; later runs map it instead of loading and verifying the classes again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import time

log = logging.getLogger("airflow_flink_sql.job")

STALE_ARCHIVE_DAYS = 30


class ClassDataArchive:
    """A JDK class-data-sharing archive of the classes this PyFlink and Java load: used if present, else written.

    An archive only fits the Java binary and the class path (the PyFlink installation's jars)
    it was written with; the JVM silently ignores any other. So the file name carries both:
    another venv or an upgrade writes an archive of its own, and one nobody used for
    ``STALE_ARCHIVE_DAYS`` is removed.
    """

    def __init__(self, folder: str):
        import pyflink
        import pyflink.version
        from pyflink.pyflink_gateway_server import find_java_executable

        java = find_java_executable()  # "java" unless JAVA_HOME or env.java.home says where
        java = os.path.realpath(shutil.which(java) or java)
        installation = os.path.dirname(os.path.realpath(pyflink.__file__))
        key = hashlib.sha256(f"{java}:{_mtime(java)}:{installation}".encode()).hexdigest()[:12]
        self.path = os.path.join(folder, f"pyflink-{pyflink.version.__version__}-{key}.jsa")
        self.creating = not os.path.exists(self.path)
        self._partial = f"{self.path}.{os.getpid()}.partial"
        self.usable = True
        if self.creating:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:  # e.g. a read-only home: start without the archive
                log.warning("No class-data archive in %s: %s", folder, exc)
                self.usable = False

    def jvm_options(self) -> list[str]:
        if not self.usable:
            return []
        if self.creating:
            # Writing lists thousands of classes it skips, one warning each, on stdout.
            return [f"-XX:ArchiveClassesAtExit={self._partial}", "-Xlog:cds*=off"]
        with contextlib.suppress(OSError):
            os.utime(self.path)  # in use: not stale
        return [f"-XX:SharedArchiveFile={self.path}", "-Xshare:auto"]

    def publish(self) -> None:
        """Once the JVM has exited normally (``stop_jvm``), its archive is complete: give it its name."""
        if self.usable and self.creating and os.path.exists(self._partial):
            os.replace(self._partial, self.path)
            log.info("Wrote class-data archive %s for faster JVM start-up", self.path)
            _remove_leftovers(os.path.dirname(self.path))


def _remove_leftovers(folder: str) -> None:
    """Remove what no run will use again: archives of an upgraded-away PyFlink or Java (unused for
    ``STALE_ARCHIVE_DAYS``) and partial archives of runs killed while their JVM wrote them."""
    stale_before = time.time() - STALE_ARCHIVE_DAYS * 86400
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        partial = re.fullmatch(r".+\.jsa\.(\d+)\.partial", name)
        if (partial and not _alive(int(partial.group(1)))) or (name.endswith(".jsa") and _mtime(path) < stale_before):
            with contextlib.suppress(OSError):
                os.remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0
