{#- The tables the nightly and monthly jobs share (Flink SQL DDL), as Jinja macros: the scripts import them
    (`{% from "sql/tables.sql" import ... %}`), found on the same template search path (include/) as the scripts.
    A path is a rendered sql_params value; the macros quote it. -#}

{#- The landed input (include/sector_report/landing/landed_input.py): every row already checked, headerless, and only
    numbers, which Flink parses far faster than decimal prices and repeated names. The source is strict (no
    'csv.ignore-parse-errors'): a bad row fails the job instead of turning into NULLs that still count.
    `pattern`: read the files under `path` whose path matches it, every row carrying its file's path (file_path),
    so that a job over many days can tell them apart. -#}
{% macro transactions_table(path, pattern=none) -%}
CREATE TEMPORARY TABLE transactions (
    stock_id INT,
    price_cents BIGINT,
    volume INT,
    transaction_date DATE{{ file_path_column(pattern) }}
) WITH (
    {{- csv_source(path, pattern) }}
)
{%- endmacro %}

{#- The stock code and sector behind each stock_id (of the same day: a day's stock ids are its own). -#}
{% macro stocks_table(path, pattern=none) -%}
CREATE TEMPORARY TABLE stocks (
    stock_id INT,
    stock_code STRING,
    sector STRING{{ file_path_column(pattern) }}
) WITH (
    {{- csv_source(path, pattern) }}
)
{%- endmacro %}

{#- Per-sector totals, the columns the reports read (include/sector_report/summary.py); `period`: the name of a
    leading STRING column saying which day or month a row totals. -#}
{% macro sector_summary_table(name, path, period=none) -%}
CREATE TEMPORARY TABLE {{ name }} (
{%- if period %}
    {{ period }} STRING,
{%- endif %}
    sector STRING,
    total_value DECIMAL(38, 2),
    avg_price DECIMAL(38, 6),
    total_volume BIGINT,
    transaction_count BIGINT
) WITH (
    {{- csv_sink(path) }}
)
{%- endmacro %}

{% macro file_path_column(pattern) -%}
{%- if pattern is not none %},
    file_path STRING NOT NULL METADATA FROM 'file.path' VIRTUAL
{%- endif %}
{%- endmacro %}

{% macro csv_source(path, pattern) %}
    'connector' = 'filesystem',
    'path' = {{ path | sql_string }},
{%- if pattern is not none %}
    'source.path.regex-pattern' = {{ pattern | sql_string }},
{%- endif %}
    'format' = 'csv',
    -- Statistics would only cost planning time: the plan is the same for every day.
    'source.report-statistics' = 'NONE'
{%- endmacro %}

{#- A folder of CSV part files, which OVERWRITE replaces: a rerun never appends a second copy. -#}
{% macro csv_sink(path) %}
    'connector' = 'filesystem',
    'path' = {{ path | sql_string }},
    'format' = 'csv',
    'csv.write-bigdecimal-in-scientific-notation' = 'false'
{%- endmacro %}
