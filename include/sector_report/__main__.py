"""Print a published report's summary table and path; take over an earlier release's data folder.

python -m include.sector_report show --date YYYY-MM-DD [--conf JSON] [--log PATH]
python -m include.sector_report show-month --month YYYY-MM [--conf JSON] [--log PATH]
python -m include.sector_report take-over

A night that was not published is shown as its failed task and that task's error (its first paragraph).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .failure_record import last_failure
from .layout import DataFolder
from .published_nights import published_revision
from .reporting.render import format_summary_table
from .settings import DATA_ROOT, LOCALE
from .summary import NightSummary, SectorSummary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.sector_report")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the summary table and report path of a date")
    show.add_argument("--date", required=True, help="report date, YYYY-MM-DD")
    show.add_argument("--conf", default="{}", help="the run's conf JSON; its locale picks the table's language")
    show.add_argument("--data-dir", default=DATA_ROOT)
    show_month = commands.add_parser("show-month", help="print the month-to-date table and report path of a month")
    show_month.add_argument("--month", required=True, help="YYYY-MM")
    show_month.add_argument("--conf", default="{}", help="the run's conf JSON; its locale picks the table's language")
    show_month.add_argument("--data-dir", default=DATA_ROOT)
    commands.add_parser("take-over", help="take over the nights an earlier release published (at a deployment's start)")
    for command in (show, show_month):
        command.add_argument("--log", default="the Airflow log above", help="where the run's Airflow log is")
    args = parser.parse_args(argv)
    if args.command == "take-over":
        from .dag_support import take_over_earlier_release  # it registers pages with the viewer: Airflow's side

        take_over_earlier_release()
        return 0
    locale = json.loads(args.conf or "{}").get("locale", LOCALE)
    if args.command == "show-month":
        return _show_month(Path(args.data_dir), args.month, locale, args.log)

    data = DataFolder(Path(args.data_dir))
    night = published_revision(data, args.date)
    if night is None:
        from .reporting.mail import first_paragraph

        failure = last_failure(data.run(args.date))
        why = (
            f"{failure.task_id} failed: {first_paragraph(failure.error)}" if failure else "the run failed or never ran."
        )
        print(f"No report was published for {args.date}; {why}\n\nThe run's log: {args.log}", file=sys.stderr)
        return 1
    print(format_summary_table(NightSummary.read(night).sectors, locale))
    print(f"\nReport: {night.report_html}")
    return 0


def _show_month(data_root: Path, month: str, locale: str, log: str) -> int:
    folder = DataFolder(data_root).month(month)
    if not folder.report_html.is_file():
        print(
            f"No month-to-date report was published for {month} (expected {folder.report_html}); "
            f"the run failed or never ran: see {log}.",
            file=sys.stderr,
        )
        return 1
    summary = json.loads(folder.summary_json.read_text(encoding="utf-8"))
    print(format_summary_table([SectorSummary.from_json(s) for s in summary["sectors"]], locale))
    print(
        f"\nDays: {len(summary['days_published'])} published; missing: {', '.join(summary['days_missing']) or '-'}"
        f"{' (final)' if summary['final'] else ''}"
    )
    print(f"Report: {folder.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
