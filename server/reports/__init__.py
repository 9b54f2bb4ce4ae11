"""The Article 26 reports: periods, uptime arithmetic, the report, its renderings, `bgk server report`."""
