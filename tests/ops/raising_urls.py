"""bestby's URLs plus one view that raises, for the error-log tests (tests/ops/test_error_log.py)."""

from django.urls import path

from bestby.urls import urlpatterns as _bestby

MESSAGE = "boom from the test view: an operator must see this traceback"


def boom(request):
    raise RuntimeError(MESSAGE)


urlpatterns = [path("boom/", boom), *_bestby]
