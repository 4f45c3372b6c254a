"""The one Dask driver's map: every item once, a few in flight, failures isolated."""

from __future__ import annotations

import threading

import pytest

from napari_clipcap.core.distributed.mapping import _prove_each_once, bounded_map, run_isolated
from napari_clipcap.core.errors import Cancelled, CountMismatchError


def _square(x: int, offset: int = 0) -> int:
    return x * x + offset


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def test_local_map_runs_every_item_in_order():
    assert list(bounded_map(_square, range(5), 1)) == [(i, i * i + 1) for i in range(5)]


@pytest.mark.parametrize("in_flight", [1, 2, 3, 7, None])
def test_cluster_map_returns_every_one_of_many_small_items_once(client, in_flight):
    # the old loop took one more item than it submitted and dropped it: 60 -> 59
    got = dict(bounded_map(_square, list(range(60)), 0, client=client, in_flight=in_flight))
    assert got == {i: i * i for i in range(60)}


def test_cluster_map_keeps_at_most_in_flight_items_submitted(client):
    submitted = []
    real_submit = client.submit

    def counting_submit(*args, **kwargs):
        submitted.append(1)
        return real_submit(*args, **kwargs)

    client.submit = counting_submit
    try:
        results = bounded_map(_square, list(range(10)), client=client, in_flight=3)
        first = next(results)
        assert len(submitted) == 4  # 3 at the start, one more once the first came back
        assert len(dict([first, *results])) == 10
    finally:
        del client.submit


def test_cancel_stops_the_map(client):
    flag = threading.Event()
    results = bounded_map(_square, list(range(20)), client=client, cancel=flag)
    next(results)
    flag.set()
    with pytest.raises(Cancelled):
        list(results)


def test_a_lost_or_repeated_item_is_refused_loudly():
    _prove_each_once([0, 1, 2], 3)
    with pytest.raises(CountMismatchError, match="3 work items were sent but 2 came back"):
        _prove_each_once([0, 2], 3)
    with pytest.raises(CountMismatchError, match="1 twice"):
        _prove_each_once([0, 1, 1, 2], 3)


def test_run_isolated_finds_the_failing_item():
    calls = []

    def run(group):
        calls.append(list(group))
        if 3 in group:
            raise RuntimeError("model broke on 3")
        return {g: g * 10 for g in group}

    out = run_isolated([1, 2, 3, 4], run, lambda item, exc: {item: str(exc)})
    assert out == {1: 10, 2: 20, 3: "model broke on 3", 4: 40}
    assert calls[0] == [1, 2, 3, 4] and len(calls) == 5
    assert run_isolated([1, 2], run, lambda i, e: {}) == {1: 10, 2: 20} and len(calls) == 6


def test_run_isolated_lets_cancel_through():
    def run(group):
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        run_isolated([1, 2], run, lambda item, exc: {item: "x"})
