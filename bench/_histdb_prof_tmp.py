import sys, time, collections
from datetime import UTC, datetime
from bench import bench_history_month as b
from bench._history_month_data import MonthShape, fill
from kwiff_scrapy.history import store as st, summaries as su
from kwiff_scrapy.history.schema import database_url
spent = collections.Counter()
def timed(owner, name):
    f = getattr(owner, name)
    def w(*a, **k):
        t = time.process_time()
        try: return f(*a, **k)
        finally: spent[name] += time.process_time() - t
    setattr(owner, name, w)
for n in ("_plan", "_apply", "_upsert_events"): timed(st.HistoryStore, n)
for n in ("_insert_prices",): timed(st, n)
timed(st.summaries, "read"); timed(st.summaries, "store")
backend = sys.argv[1]
with b._database(backend, None) as uri:
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    shape = MonthShape(prices=100_000, events=20, end_ms=b._ms(end))
    store = st.HistoryStore(database_url(uri)); store.open()
    fill(store._engine, shape, progress=False)
    original = store.write
    first = [True]
    def write(batch):
        result = original(batch)
        if first[0]:
            first[0] = False
            spent.clear()
        return result
    store.write = write
    import cProfile, pstats
    prof = cProfile.Profile()
    inner = store.write
    def profiled(batch):
        if first[0]:
            return inner(batch)
        prof.enable()
        try:
            return inner(batch)
        finally:
            prof.disable()
    store.write = profiled
    w, bare, n = b.time_writing(store, uri, shape, 10)
    print(f"{w:.0f} {bare:.0f} {w / bare:.2f}")
    for k, v in spent.most_common(): print(k, f"{v:.3f}")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    store.close()
