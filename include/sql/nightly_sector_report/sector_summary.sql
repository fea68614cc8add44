-- Per-sector and per-stock totals of one day's transactions (Flink SQL, batch mode).
-- Rendered by Airflow: sql_params are placed as quoted string literals.

-- The landed input (include/sector_report/landing/landed_input.py): every row already checked, headerless,
-- and only numbers, which Flink parses far faster than decimal prices and repeated names.
-- The source is strict (no 'csv.ignore-parse-errors'): a bad row fails the job instead of
-- turning into NULLs that still count.
CREATE TEMPORARY TABLE transactions (
    stock_id INT,
    price_cents BIGINT,
    volume INT,
    transaction_date DATE
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.transactions_path | sql_string }},
    'format' = 'csv',
    -- Statistics would only cost planning time: the plan is the same for every day.
    'source.report-statistics' = 'NONE'
);

-- The stock code and sector behind each stock_id.
CREATE TEMPORARY TABLE stocks (
    stock_id INT,
    stock_code STRING,
    sector STRING
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.stocks_path | sql_string }},
    'format' = 'csv',
    'source.report-statistics' = 'NONE'
);

CREATE TEMPORARY TABLE sector_summary (
    sector STRING,
    total_value DECIMAL(38, 2),
    avg_price DECIMAL(38, 6),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.sector_sink_path | sql_string }},
    'format' = 'csv',
    'csv.write-bigdecimal-in-scientific-notation' = 'false'
);

CREATE TEMPORARY TABLE stock_summary (
    sector STRING,
    stock_code STRING,
    total_value DECIMAL(38, 2),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.stock_sink_path | sql_string }},
    'format' = 'csv',
    'csv.write-bigdecimal-in-scientific-notation' = 'false'
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
