"""``scrapy`` as if msgspec were not installed.

``python -m tests.support.without_msgspec crawl ...`` (from the repository's root)

Blocks the import of msgspec before anything imports it, says on stderr which JSON
decoder the codec took (``decoder: json ...``), then runs Scrapy's command line.
"""

from __future__ import annotations

import sys

sys.modules["msgspec"] = None  # type: ignore[assignment]  # import msgspec: ImportError

from scrapy.cmdline import execute  # noqa: E402

from kwiff_scrapy.protocol import jsondecode  # noqa: E402

if __name__ == "__main__":
    print(f"decoder: {jsondecode.DECODER}", file=sys.stderr)
    execute()
