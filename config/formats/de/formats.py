"""German: "1. Dezember 2026, 17:55"; 4,50 (money in the catalogue: "4,50 £")."""

DATE_FORMAT = "j. F Y"  # 1. Dezember 2026
TIME_FORMAT = "H:i"  # 17:55
DATETIME_FORMAT = "j. F Y, H:i"  # 1. Dezember 2026, 17:55
MONTH_DAY_FORMAT = "j. F"  # 1. Dezember
YEAR_MONTH_FORMAT = "F Y"  # Dezember 2026
SHORT_DATE_FORMAT = "d.m.Y"  # 01.12.2026
SHORT_DATETIME_FORMAT = "d.m.Y, H:i"  # 01.12.2026, 17:55
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
