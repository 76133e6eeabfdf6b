"""``bestby serve --workers N``: the WSGI app in N processes that share one listening socket (gunicorn).

gunicorn's master process binds the socket, starts N workers (its threaded
``gthread`` worker: each takes connections and serves them on ``threads``
threads), restarts a worker that dies, and stops them all on Ctrl+C or
SIGTERM. One worker is served the same way, so a worker that dies is
restarted whatever N is. The app is loaded in each worker, not in the master
(``preload_app`` off), and the command closes its own database connections
before the master starts (``bestby.cli._serve``), so no database connection is
ever shared across a fork.

A worker that dies loses the requests it held (their clients see the
connection reset); the other workers' requests are untouched, and the master
starts a new worker at once (``tests/test_serve.py``).
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _App(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from bestby.wsgi import application

        return application


def serve_workers(host: str, port: int, *, threads: int, workers: int) -> None:
    """Serve until stopped (blocks)."""
    _App({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "preload_app": False,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "bestby",
        "timeout": 120,  # a worker may build the open book of a large store on its first request
        "keepalive": 5,
    }).run()
