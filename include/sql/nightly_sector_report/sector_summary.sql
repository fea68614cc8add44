-- Per-sector and per-stock totals of one day's transactions (Flink SQL, batch mode).
-- Rendered by Airflow: sql_params are placed as quoted string literals.

{% from "sql/tables.sql" import csv_sink, sector_summary_table, stocks_table, transactions_table -%}

-- The day's landed input (include/sql/tables.sql).
{{ transactions_table(sql_params.transactions_path) }};

{{ stocks_table(sql_params.stocks_path) }};

{{ sector_summary_table("sector_summary", sql_params.sector_sink_path) }};

CREATE TEMPORARY TABLE stock_summary (
    sector STRING,
    stock_code STRING,
    total_value DECIMAL(38, 2),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH ({{ csv_sink(sql_params.stock_sink_path) }}
);

-- One pass over the transactions, grouped by stock; both sinks read its few rows.
-- Money is summed exactly as BIGINT cents (landing refuses a day whose total would not fit,
-- and every amount is non-negative, so no partial sum overflows) and becomes DECIMAL per group.
-- Volume is summed as BIGINT because SUM(INT) is an INT in Flink.
CREATE TEMPORARY VIEW stock_totals AS
SELECT
    stocks.sector,
    stocks.stock_code,
    totals.value_cents,
    totals.price_cents,
    totals.total_volume,
    totals.transaction_count
FROM (
    SELECT
        stock_id,
        SUM(price_cents * volume) AS value_cents,
        SUM(price_cents) AS price_cents,
        SUM(CAST(volume AS BIGINT)) AS total_volume,
        COUNT(*) AS transaction_count
    FROM transactions
    GROUP BY stock_id
) AS totals
JOIN stocks ON totals.stock_id = stocks.stock_id;

-- Both INSERTs run as one Flink job (one statement set) that reads the input once.
-- OVERWRITE replaces the folder's part files, so a rerun never appends a second copy.
-- cents * 0.01 is exact (DECIMAL(38, 2)); dividing by the count rounds half up to 6 decimals.
INSERT OVERWRITE sector_summary
SELECT
    sector,
    CAST(SUM(value_cents) AS DECIMAL(36, 0)) * 0.01 AS total_value,
    CAST(SUM(price_cents) AS DECIMAL(36, 0)) * 0.01 / SUM(transaction_count) AS avg_price,
    SUM(total_volume) AS total_volume,
    SUM(transaction_count) AS transaction_count
FROM stock_totals
GROUP BY sector;

INSERT OVERWRITE stock_summary
SELECT
    sector,
    stock_code,
    CAST(value_cents AS DECIMAL(36, 0)) * 0.01 AS total_value,
    total_volume,
    transaction_count
FROM stock_totals;
