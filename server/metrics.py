"""Prometheus figures at ``/metrics``.

Figures that live in shared state anyway (documents and measures in the store, queued index
work, the index generation) are read at scrape time by ``ArchiveCollector``, so they are
right whichever worker answers and whichever process wrote. Per-request figures live in each
process; under ``plan-archive serve`` they go through prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``serve`` before anything imports prometheus_client), so
a scrape sums every worker. docs/decisions/0006-metrics-across-workers.md says why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from archive import queries
from index.search import IndexNotBuilt, Searcher
from index.writing import IndexDamaged, IndexOutdated, age_seconds
from index.writing import position as index_position
from schema.choices import INVALID, UNKNOWN

# Fixed operation labels besides the schema's (schema/operation_labels.py); GraphQL names
# cannot contain "<", so none collides with a real one.
OTHER = "<other>"  # past the bound on distinct labels (a safety net: see OperationLabels)
NONE = ""  # a request outside /graphql (/healthz, /metrics, an export)
MAX_OPERATIONS = 100  # distinct operation labels per process
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

logger = logging.getLogger("plan_archive.server")


class OperationLabels:
    """Bounds the distinct operation labels of a process: past ``limit``, new ones are OTHER.

    Labels are made of the schema's root fields only, yet any combination of them is one:
    the bound keeps a client that tries them all from filling Prometheus."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self.limit = limit
        self.seen: set[str] = {INVALID, UNKNOWN, OTHER, NONE}

    def bound(self, label: str) -> str:
        if label in self.seen:
            return label
        if len(self.seen) - 4 >= self.limit:
            return OTHER
        self.seen.add(label)
        return label


class Metrics:
    """The per-process figures, and the scrape that reports them with the shared ones.

    With ``multiprocess_dir`` (``plan-archive serve``) every process writes its figures to
    files there and a scrape sums them all; without it (one process: tests, an embedding
    app) they live in this object's own registry.
    """

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        multiprocess = values.ValueClass is not values.MutexValue
        if multiprocess_dir is not None and not multiprocess:
            raise RuntimeError(
                "PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is imported"
            )
        if multiprocess_dir is None and multiprocess:
            # Figures would go to that folder's files, yet scrapes would read this registry.
            raise RuntimeError(
                "prometheus_client is in multiprocess mode (PROMETHEUS_MULTIPROC_DIR was set "
                "when it was imported): pass that folder"
            )
        self.multiprocess_dir = multiprocess_dir
        # In multiprocess mode the figures go to files, not to a registry of this process.
        self.registry: CollectorRegistry | None = (
            CollectorRegistry() if multiprocess_dir is None else None
        )
        registry = self.registry
        self.requests = Counter(
            "plan_archive_requests",
            "HTTP requests answered, by route, GraphQL operation and status class.",
            ["path", "operation", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "plan_archive_request_duration_seconds",
            "Time from a request's arrival to its last response byte, by route and operation.",
            ["path", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.search_seconds = Histogram(
            "plan_archive_search_duration_seconds",
            "Time of each full-text index search (the searcher call alone).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache_lookups = Counter(
            "plan_archive_response_cache_lookups",
            "Response cache lookups, by result (hit or miss).",
            ["result"],
            registry=registry,
        )
        self.ingested_documents = Counter(
            "plan_archive_ingested_documents",
            "Reports offered for ingest, by way in (api, cli) and outcome (stored, replaced, "
            "unchanged, unstructured, refused, failed).",
            ["via", "outcome"],
            registry=registry,
        )
        self.ingested_measures = Counter(
            "plan_archive_ingested_measures",
            "Measures written by stored or replaced reports, by way in (api, cli).",
            ["via"],
            registry=registry,
        )
        self.operations = OperationLabels()
        self.shared: list[Collector] = []  # read at scrape time (ArchiveCollector)

    def cache_lookup(self, hit: bool) -> None:
        self.cache_lookups.labels("hit" if hit else "miss").inc()

    def ingest(self, via: str, outcome: str, measures: int) -> None:
        """Count one report offered for ingest; ``outcome`` as in ``archive.ingest.Outcome``'s
        names, "refused" (the file's fault) or "failed" (the store's or a bug)."""
        self.ingested_documents.labels(via, outcome).inc()
        if outcome in ("stored", "replaced"):
            self.ingested_measures.labels(via).inc(measures)

    def scrape(self) -> bytes:
        registry = CollectorRegistry()
        if self.multiprocess_dir is not None:
            MultiProcessCollector(registry, str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        else:
            assert self.registry is not None
            registry.register(_Forward(self.registry))
        for collector in self.shared:
            registry.register(collector)
        return generate_latest(registry)

    def endpoint(self, _: Request) -> Response:
        """Sync on purpose: Starlette runs it in its thread pool, so the store's counts and the
        merge of every process's files never hold up the event loop."""
        return Response(self.scrape(), media_type=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    """Another registry's figures, so one scrape can add the shared ones to them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.source = registry

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


class ArchiveCollector(Collector):
    """Figures of the shared store and index, read when scraped: right whichever worker is
    asked and whichever process (a server, ``plan-archive ingest``) wrote."""

    def __init__(self, sessions: sessionmaker[Session], searcher: Searcher) -> None:
        self.sessions = sessions
        self.searcher = searcher

    def collect(self) -> Iterable[Metric]:
        try:
            at = index_position(self.searcher.root)
        except (IndexDamaged, IndexOutdated):
            at = None  # /readyz says why
        try:
            with self.sessions() as db:
                documents = queries.root_list_size(db, "Query.documents") or 0
                measures = queries.measure_total(db)
                # Read whether or not the index is built: the log is part of the store.
                behind = queries.index_log_lag(db, at or 0)
        except SQLAlchemyError:
            # The request figures are still worth a scrape: the store's are left out, and
            # plan_archive_store_up says why.
            logger.warning("metrics: cannot read the store's figures", exc_info=True)
            yield GaugeMetricFamily(
                "plan_archive_store_up", "1 when the last scrape read the store, else 0.", 0
            )
        else:
            yield GaugeMetricFamily(
                "plan_archive_store_up", "1 when the last scrape read the store, else 0.", 1
            )
            yield GaugeMetricFamily("plan_archive_documents", "Reports in the store.", documents)
            yield GaugeMetricFamily("plan_archive_measures", "Measures in the store.", measures)
            if at is not None:  # none before this node's index is built
                count, oldest = behind
                yield GaugeMetricFamily(
                    "plan_archive_index_pending_tasks",
                    "Entries of the store's index log this node's index has not applied yet "
                    "(0 when in step).",
                    count,
                )
                yield GaugeMetricFamily(
                    "plan_archive_index_lag_seconds",
                    "Age of the oldest store change this node's index has not applied "
                    "(0 when in step): how far its searches are behind the store.",
                    age_seconds(oldest),
                )
        info = GaugeMetricFamily(
            "plan_archive_index_generation",
            "The index state searches use: 1 for the current generation (folder.commit).",
            labels=["generation"],
        )
        try:
            info.add_metric([self.searcher.generation()], 1)
        except IndexNotBuilt:
            info.add_metric(["none"], 0)
        yield info
