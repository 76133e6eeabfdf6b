"""The Content-Security-Policy header, on every response.

Django 5.2 has no CSP support of its own (it arrives in 6.0), and the policy
here is one constant header with no nonces (the pages carry no inline script
or style), so a small middleware does it rather than a dependency:
``django-csp`` would bring its own settings, reports and nonce machinery for
what is one string. The policy is read from ``settings.SECURE_CSP``, the
setting name and shape of Django 6.0's built-in middleware
(``django.middleware.csp.ContentSecurityPolicyMiddleware``), so that moving to
it changes one line of ``MIDDLEWARE``.

The same policy holds for the Django admin and for Swagger UI at
``/api/docs``: both run their scripts from files and set styles through the
DOM, which ``style-src 'self'`` allows (``tests/web/test_browser_csp.py``
checks every main page, the admin and the docs in a real Chromium). A
response that already has the header (a view that set its own) keeps it.
"""

from __future__ import annotations

from django.conf import settings

HEADER = "Content-Security-Policy"


def policy_text(directives: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"], ...}`` -> ``default-src 'self'; ...`` (directives in the order given)."""
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = policy_text(getattr(settings, "SECURE_CSP", None) or {})

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and HEADER not in response:
            response[HEADER] = self.policy
        return response
