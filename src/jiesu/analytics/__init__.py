"""Analysis of the whole stream: warehouse, reports, heat map, hot issues, forecasts and early
warning, monthly topics."""
