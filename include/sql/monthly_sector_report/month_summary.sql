-- Month-to-date totals per day and sector, and per month and sector (Flink SQL, batch mode).
-- One job rolls up every month asked for (a batch of nights may span a month's end).
-- Rendered by Airflow: sql_params are placed as quoted string literals.

{% from "sql/tables.sql" import sector_summary_table, stocks_table, transactions_table -%}

-- Every published day's landed input (include/sql/tables.sql), read as one source: every date's revisions, filtered by a
-- pattern naming the published revisions. The date is the revision's, taken from each file's path by a pattern the
-- layout gives (include/sector_report/layout.py). Each day's stock ids are that day's own: the lookup is joined on
-- (date, stock_id).
{{ transactions_table(sql_params.revisions_path, pattern=sql_params.transactions_pattern) }};

{{ stocks_table(sql_params.revisions_path, pattern=sql_params.stocks_pattern) }};

{{ sector_summary_table("day_sector_summary", sql_params.day_sink_path, period="report_date") }};

{{ sector_summary_table("month_sector_summary", sql_params.month_sink_path, period="report_month") }};

-- One pass over the month's transactions, grouped by day and stock. Within a day money is summed
-- as BIGINT cents, exactly as in the daily job (landing refused any day whose total would not fit);
-- across days the sums are DECIMAL(38, 0), since a month of such days may not fit in a BIGINT.
CREATE TEMPORARY VIEW day_stock_totals AS
SELECT
    totals.report_date,
    lookup.sector,
    totals.value_cents,
    totals.price_cents,
    totals.total_volume,
    totals.transaction_count
FROM (
    SELECT
        REGEXP_EXTRACT(file_path, {{ sql_params.transactions_date_pattern | sql_string }}, 1) AS report_date,
        stock_id,
        CAST(SUM(price_cents * volume) AS DECIMAL(38, 0)) AS value_cents,
        CAST(SUM(price_cents) AS DECIMAL(38, 0)) AS price_cents,
        SUM(CAST(volume AS BIGINT)) AS total_volume,
        COUNT(*) AS transaction_count
    FROM transactions
    GROUP BY file_path, stock_id
) AS totals
JOIN (
    SELECT
        REGEXP_EXTRACT(file_path, {{ sql_params.stocks_date_pattern | sql_string }}, 1) AS report_date,
        stock_id,
        sector
    FROM stocks
) AS lookup ON totals.report_date = lookup.report_date AND totals.stock_id = lookup.stock_id;

-- Both INSERTs run as one Flink job; OVERWRITE replaces the month's earlier output.
-- cents * 0.01 is exact (DECIMAL(38, 2)); dividing by the count rounds half up to 6 decimals,
-- as the daily job does, so each day's figures equal its published daily summary.
INSERT OVERWRITE day_sector_summary
SELECT
    report_date,
    sector,
    CAST(SUM(value_cents) AS DECIMAL(36, 0)) * 0.01 AS total_value,
    CAST(SUM(price_cents) AS DECIMAL(36, 0)) * 0.01 / SUM(transaction_count) AS avg_price,
    SUM(total_volume) AS total_volume,
    SUM(transaction_count) AS transaction_count
FROM day_stock_totals
GROUP BY report_date, sector;

INSERT OVERWRITE month_sector_summary
SELECT
    SUBSTRING(report_date FROM 1 FOR 7) AS report_month,
    sector,
    CAST(SUM(value_cents) AS DECIMAL(36, 0)) * 0.01 AS total_value,
    CAST(SUM(price_cents) AS DECIMAL(36, 0)) * 0.01 / SUM(transaction_count) AS avg_price,
    SUM(total_volume) AS total_volume,
    SUM(transaction_count) AS transaction_count
FROM day_stock_totals
GROUP BY SUBSTRING(report_date FROM 1 FOR 7), sector;
