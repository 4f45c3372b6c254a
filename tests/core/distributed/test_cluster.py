"""Opening a cluster: every way it cannot be had is one line (InvalidInputError)."""

from __future__ import annotations

import time

import pytest

from napari_clipcap.core.distributed import cluster
from napari_clipcap.core.distributed.cluster import check_scheduler_address, open_cluster
from napari_clipcap.core.errors import InvalidInputError


@pytest.mark.parametrize("address", ["garbage", "", "notaproto://x:1", "tcp://host-without-port"])
def test_a_scheduler_that_is_no_address_is_refused_in_one_line(address):
    with pytest.raises(InvalidInputError, match="is not a Dask scheduler address") as info:
        check_scheduler_address(address)
    assert "\n" not in str(info.value)


def test_good_addresses_pass():
    assert check_scheduler_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert check_scheduler_address(" 127.0.0.1:8786 ") == "127.0.0.1:8786"


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    start = time.monotonic()
    with pytest.raises(InvalidInputError, match="cannot reach the Dask scheduler") as info:
        with open_cluster(scheduler="tcp://127.0.0.1:1"):
            pass
    assert "\n" not in str(info.value) and time.monotonic() - start < 15


def test_cluster_settings_are_checked():
    with pytest.raises(InvalidInputError, match="either a number of workers"):
        with open_cluster(workers=2, scheduler="tcp://127.0.0.1:1"):
            pass
    with pytest.raises(InvalidInputError, match="either a number of workers"):
        with open_cluster():
            pass
    with pytest.raises(InvalidInputError, match="at least 1"):
        with open_cluster(workers=-1):
            pass


def test_a_local_thread_cluster_opens_and_closes():
    with open_cluster(workers=2, processes=False) as client:
        assert cluster.worker_count(client) == 2
        assert client.submit(sum, [1, 2]).result() == 3
    assert client.status == "closed"


def test_worker_device_keeps_an_explicit_device():
    assert cluster.worker_device("cpu") == "cpu"
    assert cluster.worker_device("auto") == "auto"  # not inside a worker
