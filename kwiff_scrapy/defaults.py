"""Every default value of kwiff_scrapy, in one place (plain constants, no imports).

Settings, the async client, the connection layer and the spiders all take their
defaults from here, so that a default changes in one line.
"""

from __future__ import annotations

from typing import Final

# -- where to connect -------------------------------------------------------------------

ENDPOINT: Final = "wss://web-api.kwiff.com/socket.io/"
#: The ``KWIFF_ENDPOINT`` value that runs the project's own simulator in-process.
SIMULATOR_ENDPOINT: Final = "simulator"
#: The host named in ``kwiff://`` command URLs.
COMMAND_HOST: Final = "web-api.kwiff.com"

# -- the offline simulator (kwiff_scrapy.simulator) ---------------------------------------

#: The seed its data derives from: the same seed and day give the same bytes.
SIMULATOR_SEED: Final = 2026
#: Football events in its first ``event:list`` (basketball has a fixed number).
SIMULATOR_FOOTBALL_EVENTS: Final = 111
#: How fast the moving data's clock runs, times real time: the command line's default.
SIMULATOR_SPEED: Final = 1.0
#: The same for ``KWIFF_ENDPOINT = "simulator"``: an hour of market a minute, so that a
#: short watch sees prices move and events go in play.
SIMULATOR_IN_PROCESS_SPEED: Final = 60.0
#: Entries of the moving data's change log and serve log kept in memory, each.
SIMULATOR_MAX_LOG_ENTRIES: Final = 1_000_000

# -- how to look like the web app --------------------------------------------------------

USER_AGENT: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"
)
WEBAPP_VERSION: Final = "1.0.1.1768909734556"
ORIGIN: Final = "https://kwiff.com"
ACCEPT_LANGUAGE: Final = "en-GB,en;q=0.9"
DEVICE: Final = "web-app"
CLIENT_VERSION: Final = "1.0.1"

# -- what to ask for ---------------------------------------------------------------------

COUNTRY: Final = "GB"
LIST_ID: Final = "default"
#: ``source`` of a bet-builder group in ``ticket:odds:get``, as the web app sends it.
BET_BUILDER_SOURCE: Final = 2

# -- connections -------------------------------------------------------------------------

CONNECTIONS_PER_ENDPOINT: Final = 1
#: Commands awaiting their ack at once on one connection; more wait their turn.
MAX_IN_FLIGHT: Final = 256
#: Largest WebSocket frame the async client accepts (the handler derives its own
#: limit from ``DOWNLOAD_MAXSIZE``).
MAX_FRAME_SIZE: Final = 2**30
OPEN_TIMEOUT: Final = 10.0
CLOSE_TIMEOUT: Final = 5.0
RECONNECT_DELAY: Final = 0.5
RECONNECT_MAX_DELAY: Final = 30.0
RECONNECT_JITTER: Final = 0.5
#: Seconds the async client waits for any one call, connecting included.
CLIENT_TIMEOUT: Final = 30.0

# -- Scrapy ------------------------------------------------------------------------------

#: Priority of the add-on in ``ADDONS`` when kwiff_scrapy enables it itself.
ADDON_PRIORITY: Final = 300
#: Order of the downloader middleware that tells a crawl with no answer at all: below
#: ``RetryMiddleware`` (550), so it sees each command's last outcome, not every retry.
ANSWERS_MIDDLEWARE_ORDER: Final = 500
#: Scrapy's own defaults, used when a settings object lacks them (``DOWNLOAD_*``).
DOWNLOAD_TIMEOUT: Final = 180.0
#: ``CONCURRENT_ITEMS`` of the project's own spiders, unless the project's settings, ``-s``
#: or a subclass's ``custom_settings`` set it: Scrapy 2.19 starts that many tasks for every
#: response however few items it yields (scrapy/scrapy#5182), and Scrapy's 100 costs a
#: crawl of small answers up to half its speed (``bench/bench_concurrent_items.py``).
SPIDER_CONCURRENT_ITEMS: Final = 10
#: The priority it is set at: an add-on's, below the project's settings (``settings.py``,
#: ``CrawlerProcess({...})``), the spider's ``custom_settings`` and ``-s``.
SPIDER_CONCURRENT_ITEMS_PRIORITY: Final = "addon"

# -- the watch spider --------------------------------------------------------------------

#: Seconds between the starts of two polls of ``kwiff_watch``.
WATCH_INTERVAL: Final = 10.0
MIN_WATCH_INTERVAL: Final = 1.0
#: ``event:get`` commands of a local details poll sent as one Scrapy request
#: (``KWIFF_WATCH_GROUP``, ``-a group=``): Scrapy's own cost per request is paid once
#: for the group rather than per event (``bench/bench_watch_capacity.py``).
WATCH_GROUP: Final = 50
#: Seconds at least between two saves of a local watch's state to ``JOBDIR``, each after
#: a poll (``KWIFF_WATCH_CHECKPOINT``; 0: only at a clean stop, as Scrapy does).
WATCH_CHECKPOINT: Final = 60.0

# -- the alerts pipeline (kwiff_scrapy.pipelines.alerts) ---------------------------------

#: Smallest relative move of the odds alerted (0.10: 10%, either direction).
ALERT_MIN_CHANGE: Final = 0.10
#: Kinds of change alerted (``KWIFF_ALERT_KINDS``).
ALERT_KINDS: Final = ("moved",)
#: Moves alerted (``KWIFF_ALERT_DIRECTION``): ``drops`` (odds shortened), ``drifts``, ``both``.
ALERT_DIRECTION: Final = "both"
#: Seconds allowed for one webhook request.
ALERT_TIMEOUT: Final = 10.0
#: Verify the webhook's TLS certificate (``KWIFF_ALERT_VERIFY_TLS``).
ALERT_VERIFY_TLS: Final = True
#: Retries of a message after a 429, a 5xx or a connection error.
ALERT_RETRY_TIMES: Final = 3
#: Seconds before the first retry; doubles with each further one.
ALERT_RETRY_DELAY: Final = 1.0
#: Longest wait before a retry, for ``Retry-After`` and backoff alike.
ALERT_MAX_RETRY_DELAY: Final = 60.0
#: Longest wait after ``poll_finished`` for that poll's changes still in earlier pipelines.
ALERT_FLUSH_DELAY: Final = 0.5
#: Without ``poll_finished``: seconds without a new alert before a batch goes out...
ALERT_QUIET_PERIOD: Final = 1.0
#: ... and at most this long after its first alert.
ALERT_MAX_BATCH_AGE: Final = 10.0
#: Seconds pending alerts get to go out when the spider closes.
ALERT_CLOSE_TIMEOUT: Final = 10.0
#: Longest message, in characters (Discord's limit for a message's content).
ALERT_MESSAGE_LIMIT: Final = 2000
#: Messages waiting for a slow or failing webhook; beyond this the oldest is dropped.
ALERT_MAX_QUEUED_MESSAGES: Final = 100
#: Order of the alerts pipeline in ``ITEM_PIPELINES`` when the add-on enables it: late,
#: so that the project's own pipelines may clean or drop items first.
ALERT_PIPELINE_ORDER: Final = 800

# -- the odds history (kwiff_scrapy.history, kwiff_scrapy.pipelines.history) -------------

#: Most prices written in one transaction; a batch also goes out after...
HISTORY_BATCH_SIZE: Final = 10_000
#: ... this many seconds after its first item, whichever comes first.
HISTORY_FLUSH_INTERVAL: Final = 1.0
#: Prices waiting to be written (a database that went away); beyond this the oldest
#: are dropped and counted as ``kwiff/history/dropped``.
HISTORY_BUFFER_SIZE: Final = 200_000
#: Seconds before writing again after a failed batch; doubles with each failure...
HISTORY_RETRY_DELAY: Final = 1.0
#: ... up to this.
HISTORY_MAX_RETRY_DELAY: Final = 30.0
#: Seconds the prices still waiting get to be written when the spider closes.
HISTORY_CLOSE_TIMEOUT: Final = 30.0
#: Seconds to wait for the database: to connect (PostgreSQL), or for another
#: process's write lock (SQLite).
HISTORY_DB_TIMEOUT: Final = 10.0
#: ``KWIFF_HISTORY_KEEP``: rows deleted per transaction (writers take turns between them)...
HISTORY_KEEP_BATCH: Final = 5_000
#: ... and seconds between two passes of a crawl's retention (the first at its start).
HISTORY_KEEP_INTERVAL: Final = 3600.0
#: Order of the history pipeline in ``ITEM_PIPELINES`` when the add-on enables it: late,
#: so that the project's own pipelines may clean or drop items first.
HISTORY_PIPELINE_ORDER: Final = 700
#: ``scrapy kwiff history --plot``: the image's size in pixels and its resolution.
PLOT_WIDTH: Final = 960
PLOT_HEIGHT: Final = 540
PLOT_DPI: Final = 96

# -- several workers sharing crawls and watches through Redis (kwiff_scrapy.distributed) --

#: Prefix of every Redis key of a shared crawl or watch (``%(spider)s``: the spider's
#: name). scrapy-redis's ``SCHEDULER_QUEUE_KEY`` / ``SCHEDULER_DUPEFILTER_KEY`` default
#: to ``<prefix>:requests`` / ``<prefix>:dupefilter``.
REDIS_KEY: Final = "%(spider)s"
#: Seconds after which a worker that stopped signalling is taken as gone.
REDIS_WORKER_TIMEOUT: Final = 30.0
#: Seconds between two looks at the shared queue by a worker with nothing to do.
REDIS_IDLE_POLL: Final = 0.1
#: Seconds before the first retry after a Redis error; doubles with each further one...
REDIS_RETRY_DELAY: Final = 0.5
#: ... up to this.
REDIS_RETRY_MAX_DELAY: Final = 10.0
#: Socket connect and read timeouts of the Redis client, unless ``REDIS_PARAMS`` sets them.
REDIS_TIMEOUT: Final = 5.0
#: A claimed poll of a shared watch is held this long, renewed while it runs; a worker
#: that dies loses its polls to the others after at most this long. At least:
MIN_WATCH_LEASE: Final = 1.0
#: Tries of a shared watch's compare-and-set before the answer is given up (not compared).
WATCH_COMMIT_ATTEMPTS: Final = 3

# -- alert routes and the blind watch --

#: Telegram's Bot API (``KWIFF_ALERT_TELEGRAM_URL``): ``<url>/bot<token>/sendMessage``.
ALERT_TELEGRAM_URL: Final = "https://api.telegram.org"
#: Failed polls in a row after which the watch says it is blind (``KWIFF_WATCH_BLIND_AFTER``).
WATCH_BLIND_AFTER: Final = 3
#: Seconds the blind watch's claim in Redis lasts (a shared watch says it once): long
#: enough that a watch blind for days still says once that it sees again; it only ends
#: the claim of a watch stopped while blind and never started again.
WATCH_BLIND_CLAIM_TTL: Final = 7 * 24 * 3600.0

# -- scrapy kwiff dashboard (kwiff_scrapy.dashboard) ---------------------------------------

#: The address the dashboard serves on: this machine only, unless --host says otherwise.
DASHBOARD_HOST: Final = "127.0.0.1"
DASHBOARD_PORT: Final = 8050
#: Seconds between two looks at the history for prices and signals newer than those sent.
DASHBOARD_POLL: Final = 2.0
#: Seconds between two comments on an idle live stream (keeps proxies from closing it).
DASHBOARD_KEEPALIVE: Final = 15.0
#: The board's "move since" choices, in minutes (None: since the opening price).
DASHBOARD_MOVE_WINDOWS: Final = (15, 60)
#: The movers page's windows, in minutes, and how many outcomes each lists.
DASHBOARD_MOVER_WINDOWS: Final = (15, 60, 1440)
DASHBOARD_MOVERS: Final = 10
#: Seconds the movers' tables are kept before they are computed again (at most once in
#: that time, however many pages ask: three history --top queries over the history).
DASHBOARD_MOVERS_MAX_AGE: Final = 30.0
#: Signals listed on the movers page.
DASHBOARD_SIGNALS: Final = 50

# -- metrics and the log of a long run (kwiff_scrapy.monitoring) --------------------------

#: Address the Prometheus endpoint binds to (``KWIFF_METRICS_HOST``): this machine only.
METRICS_HOST: Final = "127.0.0.1"
#: Upper bounds (seconds) of the buckets of the command round-trip histogram.
METRICS_COMMAND_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Seconds between two periodic stats lines of a watch (Scrapy's ``LOGSTATS_INTERVAL``).
PERIODIC_LOG_INTERVAL: Final = 60.0
