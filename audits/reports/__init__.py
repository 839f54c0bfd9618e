"""The owner's audit reports: reads (selectors), charts, pages, exports and the API's data."""
