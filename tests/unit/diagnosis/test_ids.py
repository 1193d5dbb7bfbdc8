"""Suggestion ids: UUID version 7, ordered by creation time (appended to the primary key)."""

from __future__ import annotations

import datetime as dt
import uuid

from diagnosis.ids import time_ordered_id

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def test_an_id_is_a_version_7_uuid_carrying_its_millisecond() -> None:
    sid = time_ordered_id(T0)
    parsed = uuid.UUID(hex=sid)
    assert len(sid) == 32 and sid == parsed.hex
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert int(sid[:12], 16) == int(T0.timestamp() * 1000)


def test_later_ids_sort_after_earlier_ones_and_ids_of_one_instant_differ() -> None:
    times = [T0 + dt.timedelta(milliseconds=ms) for ms in (0, 1, 2, 1000, 86_400_000)]
    ids = [time_ordered_id(t) for t in times]
    assert ids == sorted(ids)
    same = {time_ordered_id(T0) for _ in range(1000)}
    assert len(same) == 1000


def test_ids_from_a_batch_draw_of_randomness_are_v7_and_differ() -> None:
    import os

    entropy = os.urandom(10 * 50)
    ids = [time_ordered_id(T0, entropy[10 * i : 10 * (i + 1)]) for i in range(50)]
    assert len(set(ids)) == 50
    assert all(uuid.UUID(hex=i).version == 7 for i in ids)
    assert time_ordered_id(T0, bytes(10)) == time_ordered_id(T0, bytes(10))  # bytes decide
