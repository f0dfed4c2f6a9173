"""Long work off the request path: a request records a job and puts it on Huey's queue;
a worker runs it, reports its progress and keeps its result.

- ``models``: the job's row (kind, who asked, status, result or reason for failure);
- ``queue``: Huey, embedded on SQLite by default, Redis in production;
- ``runner``: claims a job once, runs its kind's handler in one transaction, records
  the outcome; ``kinds``: which handler does what kind of job;
- ``views`` and ``api``: the job's page with its progress bar, and its JSON twin.
"""
