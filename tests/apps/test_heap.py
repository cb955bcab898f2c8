"""An app's start-up objects are frozen out of the collector's full passes
(webcommon.heap), except in the tests' environment unless asked for."""
from __future__ import annotations

import gc

from ..conftest import dispose_app_engine


def build(settings) -> int:
    import api_app

    gc.unfreeze()
    app = api_app.main({}, **{**settings, "api.rate_limit_backend": "memory"})
    frozen = gc.get_freeze_count()
    gc.unfreeze()  # (the test process goes on collecting as before)
    dispose_app_engine(app)
    return frozen


def test_the_app_freezes_its_startup_objects_when_asked(web_settings):
    assert build({**web_settings, "wallet.gc_freeze": "true"}) > 10_000


def test_the_tests_environment_does_not_freeze_by_default(web_settings):
    assert build(web_settings) == 0
    assert build({**web_settings, "wallet.environment": "development",
                  "wallet.gc_freeze": "false"}) == 0
