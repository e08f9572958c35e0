"""``scrapy kwiff dashboard``: the odds history in a browser, live.

- :mod:`.views`: what each page shows, read through :mod:`kwiff_scrapy.history`;
- :mod:`.live`: the server's look for new prices and signals, sent as server-sent events;
- :mod:`.app`: the aiohttp application (pages, CSV and PNG downloads, the live stream,
  the token, the security headers), its Jinja2 templates in ``templates/``;
- :mod:`.server`: serving it until Ctrl-C.

``static/`` holds the page's script and style, and uPlot (the charts; MIT, its licence
beside it), served from the package: no CDN. aiohttp comes with Scrapy; Jinja2 is the
``dashboard`` extra.
"""
