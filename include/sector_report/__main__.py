"""Print a published run's summary table and report path: ``python -m include.sector_report show --date D``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .render import format_summary_table
from .run_folder import RunFolder
from .validate import read_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.sector_report")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the summary table and report path of a date")
    show.add_argument("--date", required=True, help="report date, YYYY-MM-DD")
    show.add_argument("--conf", default="{}", help="the run's conf JSON; its locale picks the table's language")
    show.add_argument("--data-dir", default=os.environ.get("SECTOR_REPORT_DATA_DIR", "data"))
    args = parser.parse_args(argv)

    run = RunFolder.for_date(Path(args.data_dir), args.date)
    if not run.report_html.is_file():
        print(
            f"No report was published for {args.date} (expected {run.report_html}); "
            f"the run failed or never ran: see the Airflow log above and {run.validation_json} if it exists.",
            file=sys.stderr,
        )
        return 1
    _, sectors = read_summary(run)
    print(format_summary_table(sectors, json.loads(args.conf or "{}").get("locale", "ko")))
    print(f"\nReport: {run.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
