"""gunicorn's settings for serving the application (README, Operations: Deployment).

``gunicorn --config gunicorn.conf.py 'procurement:create_app()'``; any setting here can
be overridden on the command line (``--workers 8``, ``--bind 0.0.0.0:8000``).
"""

import gc
import multiprocessing

bind = "127.0.0.1:8000"
# Pages are CPU-bound Python: about two workers per core keep the cores busy while one
# worker waits on the database, without piling requests up behind each other.
workers = 2 * multiprocessing.cpu_count()
# Uploads of a province's month take minutes to read on a busy machine.
timeout = 300


def post_worker_init(worker):
    # A page allocates tens of thousands of short-lived objects; the default threshold
    # (700) runs a young-generation collection every few rows of a table. Objects made
    # while importing the application are frozen out of every collection.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
