-- Per-sector and per-stock totals of one day's transactions (Flink SQL, batch mode).
-- Rendered by Airflow: sql_params are placed as quoted string literals.

-- The input is the landed copy: already checked row by row, headerless, so the
-- source is strict (no 'csv.ignore-parse-errors'): a bad row fails the job
-- instead of turning into NULLs that still count.
CREATE TEMPORARY TABLE transactions (
    stock_code STRING,
    sector STRING,
    price DECIMAL(18, 2),
    volume INT,
    transaction_date DATE
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.input_path | sql_string }},
    'format' = 'csv',
    'csv.field-delimiter' = ','
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

-- Both INSERTs run as one Flink job (one statement set), reading the input once.
-- Money stays DECIMAL (exact); volume is summed as BIGINT because SUM(INT) is an INT in Flink.
-- OVERWRITE replaces the folder's part files, so a rerun never appends a second copy.
INSERT OVERWRITE sector_summary
SELECT
    sector,
    SUM(price * volume) AS total_value,
    AVG(price) AS avg_price,
    SUM(CAST(volume AS BIGINT)) AS total_volume,
    COUNT(*) AS transaction_count
FROM transactions
GROUP BY sector;

INSERT OVERWRITE stock_summary
SELECT
    sector,
    stock_code,
    SUM(price * volume) AS total_value,
    SUM(CAST(volume AS BIGINT)) AS total_volume,
    COUNT(*) AS transaction_count
FROM transactions
GROUP BY sector, stock_code;
