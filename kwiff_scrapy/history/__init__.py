"""The odds history: every price a crawl or a watch saw, stored when it changes.

- :mod:`.records`: what an item says, as plain records (pure, no database);
- :mod:`.schema`: the tables (SQLAlchemy Core), the schema version, opening a database
  (SQLite or PostgreSQL);
- :mod:`.store`: the writer: one transaction per batch, changes only;
- :mod:`.writer`: batches from a buffer, written from a thread of their own;
- :mod:`.config`: the ``KWIFF_HISTORY_*`` settings;
- :mod:`.queries`: reads for ``scrapy kwiff history``; :mod:`.plot`: its PNG.

The pipeline that feeds it is :mod:`kwiff_scrapy.pipelines.history`. SQLAlchemy is the
``history`` extra (plus psycopg 3 for PostgreSQL: ``postgres``; matplotlib: ``plot``);
only :mod:`.records`, :mod:`.config`, :mod:`.writer` and :mod:`.errors` import without it.
"""
