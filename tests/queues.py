"""The app's RQ queues seen by a test as one: every lane of crowdsource.outbox.LANES on one
Redis (real or fakeredis), under a prefix of the test's own.

``Queues`` answers what a test asks of "the queue" — the jobs waiting (in the order a worker
takes them), counts, the failed and scheduled jobs, running them in this process — whatever
lane each job went to; ``queues.lane("mail")`` is one RQ queue.
"""

import uuid

from rq import Queue, SimpleWorker

from crowdsource import outbox
from crowdsource.db import db


class Queues:
    def __init__(self, connection, prefix=None):
        self.connection = connection
        self.name = prefix or f"test-{uuid.uuid4().hex[:10]}"
        self.all = [Queue(f"{self.name}-{lane}", connection=connection) for lane in outbox.LANES]

    def install(self, app, monkeypatch=None):
        """Make the app enqueue on these queues (its REDIS_URL must be set by the caller)."""
        lanes = dict(zip(outbox.LANES, self.all, strict=True))
        if monkeypatch is not None:
            monkeypatch.setitem(app.config, "RQ_QUEUE", self.name)
            monkeypatch.setitem(app.extensions, "rq_queues", lanes)
            monkeypatch.setitem(app.extensions, "redis", self.connection)
        else:
            app.config["RQ_QUEUE"] = self.name
            app.extensions["rq_queues"] = lanes
            app.extensions["redis"] = self.connection
        app.extensions.pop("redis_down_until", None)
        return self

    def __iter__(self):
        return iter(self.all)

    def lane(self, lane):
        return self.all[outbox.LANES.index(lane)]

    @property
    def jobs(self):
        return [job for queue in self.all for job in queue.jobs]

    @property
    def count(self):
        return sum(queue.count for queue in self.all)

    def jobs_of(self, job_path):
        """The waiting jobs that run the job function ``job_path``."""
        return [job for job in self.jobs if job.args and job.args[0] == job_path]

    def remove(self, job):
        Queue(job.origin, connection=self.connection).remove(job)

    def failed_ids(self):
        return [i for queue in self.all for i in queue.failed_job_registry.get_job_ids()]

    @property
    def failed_count(self):
        return sum(queue.failed_job_registry.count for queue in self.all)

    @property
    def scheduled_count(self):
        return sum(queue.scheduled_job_registry.count for queue in self.all)

    def requeue_scheduled(self, job):
        """Queue a job waiting for its retry interval now (as if the interval had passed)."""
        Queue(job.origin, connection=self.connection).scheduled_job_registry.requeue(job.id)

    def run(self):
        """Run every waiting job in this process (a SimpleWorker in burst mode, lanes in order),
        the outbox relayed first."""
        SimpleWorker(self.all, connection=self.connection).work(burst=True)
        db.session.expire_all()

    @property
    def job_ids(self):
        """The ids of the waiting jobs."""
        return [job_id for queue in self.all for job_id in queue.job_ids]

    def requeue_all_scheduled(self):
        """Queue every job waiting for its retry interval now."""
        for queue in self.all:
            for job_id in queue.scheduled_job_registry.get_job_ids():
                queue.scheduled_job_registry.requeue(job_id)

    def _every_id(self):
        ids = set()
        for queue in self.all:
            ids.update(queue.get_job_ids())
            for registry in (
                queue.started_job_registry,
                queue.failed_job_registry,
                queue.scheduled_job_registry,
                queue.finished_job_registry,
                queue.deferred_job_registry,
            ):
                ids.update(registry.get_job_ids(cleanup=False))
        return ids

    def delete_everything(self):
        """Remove every key these queues and their jobs left in Redis: those that name one of
        the queues, or one of their jobs as a part of the key (``rq:job:<id>``,
        ``rq:results:<id>``, …). One pass over the keys, however many jobs there were."""
        ids = {job_id.encode() for job_id in self._every_id()}
        name = self.name.encode()
        doomed = [
            key
            for key in self.connection.scan_iter(count=1000)
            if name in key or not ids.isdisjoint(key.split(b":"))
        ]
        for start in range(0, len(doomed), 500):
            self.connection.delete(*doomed[start : start + 500])
