"""The project's shape, as Airflow's own test_project_structure checks its providers': each module has a test module
of its own name in the mirroring test folder, unless it is on the allow-list with the test that covers it; and the
domain package imports without Airflow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

TIERS = ("unit", "integration", "system")
# Each source folder, and the test folder (under tests/<tier>/) that mirrors it.
MIRRORS = {
    PROJECT_ROOT / "include" / "sector_report": [PROJECT_ROOT / "tests" / tier / "sector_report" for tier in TIERS],
    PROJECT_ROOT / "dags": [PROJECT_ROOT / "tests" / tier / "dags" for tier in TIERS],
    PROJECT_ROOT / "tools": [PROJECT_ROOT / "tests" / tier / "tools" for tier in TIERS],
    **{
        source: [distribution / "tests" / tier for tier in TIERS]
        for distribution in sorted((PROJECT_ROOT / "plugins").iterdir())
        if distribution.is_dir()
        for source in (distribution / "src").glob("*/")
        if source.is_dir()
    },
}
# Modules without a test module of their own name, and the test that covers each (relative to the project).
COVERED_ELSEWHERE = {
    "include/sector_report/__main__.py": "tests/integration/test_end_to_end.py",  # make run's show
    "include/sector_report/errors.py": "tests/unit/sector_report/landing/test_land.py",
    "include/sector_report/landing/checks.py": "tests/unit/sector_report/landing/test_land_equivalence.py",
    "include/sector_report/landing/csv_bytes.py": "tests/unit/sector_report/landing/test_land_equivalence.py",
    "include/sector_report/landing/landed_input.py": "tests/unit/sector_report/landing/test_land.py",
    "include/sector_report/landing/records.py": "tests/unit/sector_report/landing/test_land_equivalence.py",
    "include/sector_report/published_nights.py": "tests/unit/sector_report/reporting/test_publish.py",
    "include/sector_report/summary.py": "tests/unit/sector_report/test_validate.py",
    "include/sector_report/transactions.py": "tests/unit/sector_report/landing/test_land_properties.py",
    "include/sector_report/universe.py": "tests/unit/sector_report/landing/test_generate.py",
    # The DAG files are checked together, the Astronomer way, and run whole in the integration and system tiers.
    "dags/monthly_sector_report.py": "tests/unit/dags/test_dag_integrity.py",
    "dags/nightly_sector_report.py": "tests/unit/dags/test_dag_integrity.py",
    "dags/nightly_sector_report_deadline.py": "tests/unit/dags/test_dag_integrity.py",
    "dags/sector_report_restatement.py": "tests/unit/dags/test_dag_integrity.py",
    "dags/sector_report_withdrawal.py": "tests/integration/test_end_to_end.py",
    # make run's lines as each task ends, read from the metadata database of a whole run.
    "tools/dags_test.py": "tests/integration/test_end_to_end.py",
    # The flink-sql distribution's helpers, imported under the project's name: tested in the distribution.
    "tools/processes.py": "plugins/flink-sql/tests/unit/test_processes.py",
    "tools/waiting.py": "plugins/flink-sql/tests/unit/test_waiting.py",
    "plugins/flink-sql/src/airflow_flink_sql/job/__main__.py": (
        "plugins/flink-sql/tests/integration/operators/test_flink_sql.py"
    ),
    "plugins/flink-sql/src/airflow_flink_sql/job/errors.py": "plugins/flink-sql/tests/unit/job/test_statements.py",
    "plugins/flink-sql/src/airflow_flink_sql/job/jvm.py": "plugins/flink-sql/tests/unit/job/test_statements.py",
    "plugins/flink-sql/src/airflow_flink_sql/protocol.py": "plugins/flink-sql/tests/unit/hooks/test_flink_sql.py",
    "plugins/report-kit/src/airflow_report_kit/plugin.py": "tests/unit/test_plugins_folder.py",
    "plugins/report-kit/src/airflow_report_kit/sensors/file_arrival.py": "tests/integration/test_end_to_end.py",
    "plugins/report-kit/src/airflow_report_kit/triggers/file_arrival.py": "tests/integration/test_end_to_end.py",
    "plugins/report-kit/src/airflow_report_kit/viewer/links.py": "plugins/report-kit/tests/unit/viewer/test_app.py",
}


def mirrored_test_name(module: Path) -> str:
    """``test_<module>.py``; ``test_main.py`` for a ``__main__.py``."""
    return f"test_{module.stem.strip('_')}.py"


def modules_without_tests() -> list[str]:
    missing = []
    for source, test_roots in MIRRORS.items():
        for module in sorted(source.rglob("*.py")):
            if module.name == "__init__.py":
                continue
            relative = module.relative_to(source)
            tests = [root / relative.parent / mirrored_test_name(module) for root in test_roots]
            if not any(test.is_file() for test in tests):
                missing.append(module.relative_to(PROJECT_ROOT).as_posix())
    return missing


def test_every_module_has_a_test_module_of_its_name_or_says_which_test_covers_it() -> None:
    missing = modules_without_tests()
    unlisted = sorted(set(missing) - set(COVERED_ELSEWHERE))
    assert unlisted == [], "write tests/<tier>/<mirrored folder>/test_<module>.py, or list the covering test"
    stale = sorted(set(COVERED_ELSEWHERE) - set(missing))
    assert stale == [], "these now have test modules of their own (or are gone): remove them from COVERED_ELSEWHERE"
    gone = sorted(test for test in COVERED_ELSEWHERE.values() if not (PROJECT_ROOT / test).is_file())
    assert gone == [], "the covering tests named in COVERED_ELSEWHERE must exist"


def test_the_domain_imports_without_airflow() -> None:
    """Every module of include/sector_report but dag_support (the seam) imports with Airflow unavailable."""
    package = PROJECT_ROOT / "include" / "sector_report"
    modules = [
        "include." + ".".join(module.relative_to(package.parent).with_suffix("").parts)
        for module in sorted(package.rglob("*.py"))
        if module.name not in ("__init__.py", "__main__.py", "dag_support.py")
    ]
    probe = (
        "import importlib, sys; sys.modules['airflow'] = None\n"  # any `import airflow...` now fails
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow' and sys.modules[m] is not None))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_no_two_test_modules_share_a_dotted_name() -> None:
    """Every test tree is a package named ``tests`` (the project's and each distribution's): pytest imports two
    modules of one dotted name as one, and the second module's tests would silently not run."""
    trees = [PROJECT_ROOT / "tests", *sorted((PROJECT_ROOT / "plugins").glob("*/tests"))]
    names: dict[str, list[str]] = {}
    for tree in trees:
        for module in tree.rglob("test_*.py"):
            dotted = ".".join(module.relative_to(tree.parent).with_suffix("").parts)
            names.setdefault(dotted, []).append(module.relative_to(PROJECT_ROOT).as_posix())
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
