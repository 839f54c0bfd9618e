"""British English, as a UK shop writes it: "1 December 2026, 17:55".

Django's own en_GB formats use a 12-hour clock ("5:55 p.m."), which doubled the full
stop at the end of a sentence ("starts at 6:13 p.m..") and reads as American-ish.
"""

DATE_FORMAT = "j F Y"  # 1 December 2026
TIME_FORMAT = "H:i"  # 17:55
DATETIME_FORMAT = "j F Y, H:i"  # 1 December 2026, 17:55
MONTH_DAY_FORMAT = "j F"  # 1 December
YEAR_MONTH_FORMAT = "F Y"  # December 2026
SHORT_DATE_FORMAT = "j M Y"  # 1 Dec 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 1 Dec 2026, 17:55
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
