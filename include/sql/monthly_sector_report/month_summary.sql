-- Month-to-date totals per day and sector, and per month and sector (Flink SQL, batch mode).
-- One job rolls up every month asked for (a batch of nights may span a month's end).
-- Rendered by Airflow: sql_params are placed as quoted string literals.

-- Every published day's landed input (include/sector_report/landing/landed_input.py), read as one source: the
-- run folders, filtered by a pattern naming the published days. The date is the run folder's, taken
-- from each file's path by a pattern the layout gives (include/sector_report/layout.py).
CREATE TEMPORARY TABLE transactions (
    stock_id INT,
    price_cents BIGINT,
    volume INT,
    transaction_date DATE,
    file_path STRING NOT NULL METADATA FROM 'file.path' VIRTUAL
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.runs_path | sql_string }},
    'source.path.regex-pattern' = {{ sql_params.transactions_pattern | sql_string }},
    'format' = 'csv',
    'source.report-statistics' = 'NONE'
);

-- Each day's stock ids are that day's own: the lookup is joined on (date, stock_id).
CREATE TEMPORARY TABLE stocks (
    stock_id INT,
    stock_code STRING,
    sector STRING,
    file_path STRING NOT NULL METADATA FROM 'file.path' VIRTUAL
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.runs_path | sql_string }},
    'source.path.regex-pattern' = {{ sql_params.stocks_pattern | sql_string }},
    'format' = 'csv',
    'source.report-statistics' = 'NONE'
);

CREATE TEMPORARY TABLE day_sector_summary (
    report_date STRING,
    sector STRING,
    total_value DECIMAL(38, 2),
    avg_price DECIMAL(38, 6),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.day_sink_path | sql_string }},
    'format' = 'csv',
    'csv.write-bigdecimal-in-scientific-notation' = 'false'
);

CREATE TEMPORARY TABLE month_sector_summary (
    report_month STRING,
    sector STRING,
    total_value DECIMAL(38, 2),
    avg_price DECIMAL(38, 6),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH (
    'connector' = 'filesystem',
    'path' = {{ sql_params.month_sink_path | sql_string }},
    'format' = 'csv',
    'csv.write-bigdecimal-in-scientific-notation' = 'false'
);

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
