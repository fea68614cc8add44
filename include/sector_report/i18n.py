"""Report wording in the languages readers use: Korean (the seed's) and English."""

from __future__ import annotations

LOCALES = ("ko", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "ko": {
        "title": "섹터별 금융 데이터 요약",
        "logical_date": "기준일",
        "sector": "섹터",
        "total_value": "총 거래액",
        "avg_price": "평균 가격",
        "total_volume": "총 거래량",
        "transaction_count": "거래 건수",
        "share": "거래액 비중",
        "sectors": "섹터 수",
        "value_by_sector": "섹터별 총 거래액",
        "run_facts": "실행 정보",
        "run_id": "실행 ID",
        "flink_job": "Flink 작업",
        "flink_duration": "Flink 실행 시간",
        "rows_in": "입력 행",
        "rows_rejected": "거부된 행",
        "validation": "검증",
        "validation_passed": "통과 (입력 대조 일치)",
        "no_transactions": "이 날짜에는 거래가 없습니다.",
        "change": "전일 대비",
        "compared_with": "비교 기준",
        "no_previous": "비교할 이전 보고서가 없습니다.",
        "top_stocks": "섹터별 상위 종목",
        "stock": "종목",
        "reports": "섹터 보고서 목록",
        "latest": "최신 보고서",
        "report": "보고서",
        "currency": "원",
        "seconds": "초",
    },
    "en": {
        "title": "Sector transaction summary",
        "logical_date": "Date",
        "sector": "Sector",
        "total_value": "Total value",
        "avg_price": "Average price",
        "total_volume": "Total volume",
        "transaction_count": "Transactions",
        "share": "Share of value",
        "sectors": "Sectors",
        "value_by_sector": "Total value by sector",
        "run_facts": "Run facts",
        "run_id": "Run ID",
        "flink_job": "Flink job",
        "flink_duration": "Flink duration",
        "rows_in": "Rows in",
        "rows_rejected": "Rows rejected",
        "validation": "Validation",
        "validation_passed": "passed (reconciled with input)",
        "no_transactions": "No transactions on this date.",
        "change": "Change",
        "compared_with": "Compared with",
        "no_previous": "No earlier report to compare with.",
        "top_stocks": "Top stocks by sector",
        "stock": "Stock",
        "reports": "Sector reports",
        "latest": "Latest report",
        "report": "Report",
        "currency": "KRW",
        "seconds": "s",
    },
}


def messages(locale: str) -> dict[str, str]:
    if locale not in MESSAGES:
        raise ValueError(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    return MESSAGES[locale]
