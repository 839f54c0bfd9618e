"""Date, time and number formats that differ from Django's own (FORMAT_MODULE_PATH).

Only the names set here change; everything else comes from Django's locale formats.
"""
