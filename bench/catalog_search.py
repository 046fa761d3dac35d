"""Catalog search at 50,000 generated datasets on SQLite (FTS5) and PostgreSQL (tsvector):
p50/p95/max per query type idle, and while another thread makes one catalog write a second.

Each query is the full search the page and the API make: matching, facet counts for all seven
facets, sorting and one page of results. The baseline is a plain indexed lookup of one
dataset by slug in the same database, measured in the same alternating rounds. Each write is
looked for by a search until found, to measure how soon it is visible.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from datatorg.catalog import facet_index, search, service
from datatorg.catalog.finder import SearchQuery
from datatorg.catalog.models import (
    Dataset,
    DatasetKeyword,
    DatasetTheme,
    Distribution,
)
from datatorg.catalog.vocab import FORMATS, LICENCES, THEMES
from datatorg.db import migrate
from datatorg.db.engine import make_engine
from datatorg.identity.actor import ANONYMOUS
from datatorg.identity.models import Organisation

N = 50_000
RUNS = 60
WRITE_SECONDS = 40
WORDS = (
    "luftkvalitet trafikk energi strøm skole elever helse befolkning budsjett regnskap vann "
    "avfall sykkel buss parkering bygg fjernvarme støy vær nedbør temperatur kanal festning "
    "bibliotek barnehage legevakt omsorg innbyggere næringsliv eiendom plan regulering "
    "air quality traffic energy school health population budget accounts water waste "
    "cycling parking buildings noise weather canal library kindergarten housing jobs"
).split()
PLACES = "Halden Tistedalen Idd Berg Sentrum Os Remmen Brødløs Ystehede Sponvika Ørje Åsen".split()


def _generate(session: Session, rnd: random.Random) -> list[str]:
    orgs = [
        {"id": uuid.uuid4(), "slug": f"org-{i}", "name": f"Organisasjon {i} {rnd.choice(PLACES)}"}
        for i in range(60)
    ]
    session.execute(insert(Organisation), [o | {"kind": "public_sector"} for o in orgs])
    themes, formats, licences = list(THEMES), list(FORMATS), list(LICENCES)
    access = ["PUBLIC"] * 6 + ["RESTRICTED", "NON_PUBLIC"]
    base = datetime(2020, 1, 1, tzinfo=UTC)
    slugs = []
    for start in range(0, N, 5000):
        rows, theme_rows, kw_rows, dist_rows, fts_rows = [], [], [], [], []
        for i in range(start, start + 5000):
            ds_id = uuid.uuid4()
            words = rnd.sample(WORDS, 3)
            place = rnd.choice(PLACES)
            title = f"{words[0].capitalize()} {words[1]} i {place} {i}"
            desc = f"Data om {' '.join(rnd.sample(WORDS, 8))} for {place}."
            org = rnd.choice(orgs)
            ds_themes = rnd.sample(themes, rnd.randint(1, 3))
            ds_formats = rnd.sample(formats, rnd.randint(1, 2))
            kws = rnd.sample(WORDS, 3)
            doc = search.document(
                [title, "", " ".join(kws), " ".join(THEMES[t].nb for t in ds_themes),
                 str(org["name"]), desc, " ".join(ds_formats)]
            )  # fmt: skip
            slug = f"ds-{i}"
            slugs.append(slug)
            rows.append(
                {
                    "id": ds_id, "slug": slug, "title_nb": title, "title_en": "",
                    "sort_title": search.sort_key(title), "description_nb": desc,
                    "description_en": "", "publisher_id": org["id"],
                    "access_rights": rnd.choice(access), "classification": "open",
                    "has_personal_data": False, "status": "published",
                    "license": rnd.choice(licences), "search_doc": doc,
                    "conforms_to": [], "published_at": base + timedelta(minutes=i),
                    "updated_at": base + timedelta(minutes=rnd.randint(0, 3_000_000)),
                }
            )  # fmt: skip
            theme_rows += [{"dataset_id": ds_id, "theme": t} for t in ds_themes]
            kw_rows += [{"dataset_id": ds_id, "lang": "nb", "value": k} for k in kws]
            dist_rows += [
                {"id": uuid.uuid4(), "dataset_id": ds_id, "position": p, "format": f,
                 "download_url": f"https://x.example/{i}.{f.lower()}"}
                for p, f in enumerate(ds_formats)
            ]  # fmt: skip
            fts_rows.append({"rowid": search.fts_rowid(ds_id), "dataset_id": ds_id.hex, "doc": doc})
        session.execute(insert(Dataset), rows)
        session.execute(insert(DatasetTheme), theme_rows)
        session.execute(insert(DatasetKeyword), kw_rows)
        session.execute(insert(Distribution), dist_rows)
        if session.get_bind().dialect.name == "sqlite":
            session.execute(insert(search.FTS_TABLE), fts_rows)
    facet_index.bump(session)  # the rows went in past the ORM: "anything changed"
    session.commit()
    return slugs


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _cases(
    session: Session, slugs: list[str], rnd: random.Random
) -> dict[str, Callable[[int], object]]:
    """Each query type as a function of the run number (the queries rotate)."""
    themes = list(THEMES)

    def search_with(**kw: object) -> object:
        q = SearchQuery(**kw)  # type: ignore[arg-type]
        result = service.search_datasets(session=session, actor=ANONYMOUS, query=q)
        session.rollback()  # end the read transaction, as a request does: later writes show
        return result

    def by_slug(i: int) -> object:
        found = service.get_dataset(session=session, ref=slugs[i * 7919 % N])
        session.rollback()
        return found

    return {
        "baseline: one dataset by slug (indexed lookup)": by_slug,
        "full-text (one word, relevance)": lambda i: search_with(q=WORDS[i % len(WORDS)]),
        "full-text (two words, relevance)": lambda i: search_with(
            q=f"{WORDS[i % len(WORDS)]} {PLACES[i % len(PLACES)]}"
        ),
        "facet filter (theme + format)": lambda i: search_with(
            filters={"theme": [themes[i % len(themes)]], "format": ["CSV"]}
        ),
        "combined (words + theme + access)": lambda i: search_with(
            q=WORDS[i % len(WORDS)],
            filters={"theme": [themes[i % len(themes)]], "access_rights": ["PUBLIC"]},
        ),
        "sorted (all, by title, page 50)": lambda i: search_with(
            sort="title", offset=980, limit=20
        ),
        "sorted (all, newest changed first)": lambda i: search_with(sort="modified"),
    }


def _alternating(cases: dict[str, Callable[[int], object]], rounds: int) -> dict[str, list[float]]:
    """Each query type once per round, in turn (so drift on a shared machine hits all alike)."""
    for fn in cases.values():
        fn(0)  # warm-up
    out: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(1, rounds + 1):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn(i)
            out[name].append((time.perf_counter() - t0) * 1000)
    return out


class Writer(threading.Thread):
    """One catalog write per second on its own connection, as a publisher's edit: a dataset
    gets a new, unique title word; records when each write committed."""

    def __init__(self, engine: Engine, slugs: list[str]) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.slugs = slugs
        self.stop = threading.Event()
        self.committed: list[tuple[str, float]] = []  # (new word, commit time)

    def run(self) -> None:
        n = 0
        while not self.stop.wait(1.0 if n else 0.0):
            n += 1
            word = f"skrivetest{n:05d}"
            with Session(self.engine) as s:
                ds = service.get_dataset(session=s, ref=self.slugs[n * 104729 % N])
                assert ds is not None
                service.change(
                    session=s,
                    actor=None,
                    dataset=ds,
                    values={"title_nb": f"{ds.title_nb.split(' – ')[0]} – {word}"},
                    action="update",
                )
                s.commit()
            self.committed.append((word, time.perf_counter()))


def _while_writing(
    engine: Engine, session: Session, cases: dict[str, Callable[[int], object]], slugs: list[str]
) -> tuple[list[float], list[float], int]:
    """Searches (every type in turn) for ``WRITE_SECONDS`` while a writer commits one catalog
    write a second; returns the search times, how long after its commit each write was first
    found by a search, and how many writes there were."""
    writer = Writer(engine, slugs)
    times: list[float] = []
    seen_after: list[float] = []
    pending: list[tuple[str, float]] = []
    names = list(cases)
    writer.start()
    t_end = time.perf_counter() + WRITE_SECONDS
    i = 0
    try:
        while time.perf_counter() < t_end:
            i += 1
            t0 = time.perf_counter()
            cases[names[i % len(names)]](i)
            times.append((time.perf_counter() - t0) * 1000)
            pending += writer.committed[len(pending) + len(seen_after) :]
            for word, at in list(pending):  # is the newest write visible yet?
                q = SearchQuery(q=word, limit=1, with_facets=False)
                found = service.search_datasets(session=session, actor=ANONYMOUS, query=q)
                session.rollback()
                if found.total == 1:
                    seen_after.append(time.perf_counter() - at)
                    pending.remove((word, at))
    finally:
        writer.stop.set()
        writer.join()
    return times, seen_after, len(writer.committed)


def _measure(url: str, label: str) -> list[str]:
    """Every figure for one database at ``url`` (already migrated and empty)."""
    rnd = random.Random(20261126)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            t0 = time.perf_counter()
            slugs = _generate(session, rnd)
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            facet_index.get_or_build(session)
            build_s = time.perf_counter() - t0
            session.rollback()
            cases = _cases(session, slugs, rnd)
            idle = _alternating(cases, RUNS)
            busy, seen_after, writes = _while_writing(engine, session, cases, slugs)
            index = facet_index.get_or_build(session)
            masks = [m for values in index.by.values() for m in values.values()]
            masks += list(index.title.words.values()) + list(index.text.words.values())
            index_mib = sum(sys.getsizeof(m) for m in masks) / 2**20  # lists: without items
    finally:
        engine.dispose()
    base_p50 = _p(idle["baseline: one dataset by slug (indexed lookup)"], 50)
    load = os.getloadavg()[0]
    lines = [
        f"### {label}",
        "",
        f"Machine load (1-minute average) when done: {load:.1f} on {os.cpu_count()} cores.",
        "",
        f"{N:,} datasets loaded in {load_s:.1f} s; the facet index built in {build_s:.1f} s "
        f"(in the background in a server; {index_mib:.0f} MiB of bitmasks). {RUNS} alternating "
        "rounds, each query type once per round, after a warm-up.",
        "",
        "| query type | p50 ms | p95 ms | max ms | p50 / baseline p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in idle.items():
        p50, p95 = _p(values, 50), _p(values, 95)
        lines.append(
            f"| {name} | {p50:.1f} | {p95:.1f} | {max(values):.1f} | {p50 / base_p50:.0f}× |"
        )
    searches = [v for k, v in idle.items() if not k.startswith("baseline")]
    worst = max(_p(v, 95) for v in searches)
    idle_all = [x for v in searches for x in v]
    busy_search = busy  # every case in turn, the slug lookup among them
    lines += [
        "",
        f"**While writing** ({writes} catalog writes, one a second, from another thread of "
        f"the same process, over {WRITE_SECONDS} s; {len(busy_search)} searches of every "
        "type in turn):",
        "",
        "| | searches | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        f"| idle (all query types above) | {len(idle_all)} | {_p(idle_all, 50):.1f} | "
        f"{_p(idle_all, 95):.1f} | {max(idle_all):.1f} |",
        f"| one write a second | {len(busy_search)} | {_p(busy_search, 50):.1f} | "
        f"{_p(busy_search, 95):.1f} | {max(busy_search):.1f} |",
        "",
        f"Each write was found by a search {statistics.median(seen_after) * 1000:.0f} ms "
        f"(median; at most {max(seen_after) * 1000:.0f} ms) after its commit "
        f"({len(seen_after)} of {writes} checked).",
        "",
        f"Worst search p95 idle: {worst:.1f} ms — "
        f"{'meets' if worst <= 30 else 'misses'} the 30 ms target; slowest search while "
        f"writing: {max(busy_search):.1f} ms — "
        f"{'meets' if max(busy_search) <= 100 else 'misses'} the 100 ms bound.",
        "",
    ]
    return lines


def run() -> str:
    lines = [
        "## Catalog search (50,000 datasets, SQLite and PostgreSQL)",
        "",
        f"{N:,} generated datasets (60 publishers, 1–3 themes, 1–2 formats, 3 keywords each). "
        "Each search returns one page of 20 and the counts of all seven facets, as the page "
        "and the API do; the baseline is a plain indexed lookup of one dataset by slug in the "
        "same database, measured in the same rounds.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        make_engine(url).dispose()
        migrate.upgrade(url)
        lines += _measure(url, "SQLite (FTS5)")
    from tests.pg import start_postgres

    server = start_postgres()
    try:
        url = server.create_database("bench_catalog")
        migrate.upgrade(url)
        lines += _measure(url, "PostgreSQL (tsvector, server on the same two cores)")
    finally:
        server.stop()
    lines += [
        "Several workers: each process keeps its own index and reads the change log on its "
        "next search, so a write is visible to every worker at its next search after the "
        "commit. A full rebuild (above) runs only in a background thread.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
