"""Every end-to-end test fails on an unexpected error record in a service's log."""

from tests.browser import browser  # noqa: F401  (Debian's chromium, one per module)
from tests.pgserver import pg  # noqa: F401  (a module-scoped PostgreSQL to stop and start)
from tests.service_logs import (  # noqa: F401  (fixtures and hook used by pytest)
    pytest_configure,
    service_log_scanner,
    service_logs_clean,
    service_logs_clean_module,
)
