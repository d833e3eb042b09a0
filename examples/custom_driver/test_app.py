"""Tests of app.py: the real kvclient is never reached, ``tripwire.kv`` stands in."""

import pytest

import tripwire

# Importing the driver module registers it as tripwire.kv.
from . import tripwire_kv  # noqa: F401
from .app import record_visit


def test_record_visit_adds_one_to_the_stored_count() -> None:
    (
        tripwire.kv.new_session()
        .expect("connect", returns=None)
        .expect("get", returns="41")
        .expect("set", returns=None)
        .expect("close", returns=None)
    )

    with tripwire:
        assert record_visit("home") == 42

    tripwire.kv.assert_connect(host="kv.internal", port=6380)
    tripwire.kv.assert_get(key="visits:home")
    tripwire.kv.assert_set(key="visits:home", value="42")
    tripwire.kv.assert_close()


def test_the_first_visit_counts_one() -> None:
    (
        tripwire.kv.new_session()
        .expect("connect", returns=None)
        .expect("get", returns=None)
        .expect("set", returns=None)
        .expect("close", returns=None)
    )

    with tripwire:
        assert record_visit("about") == 1

    tripwire.kv.assert_connect(host="kv.internal", port=6380)
    tripwire.kv.assert_get(key="visits:about")
    tripwire.kv.assert_set(key="visits:about", value="1")
    tripwire.kv.assert_close()


def test_outside_tripwire_the_real_client_is_used() -> None:
    # Nothing intercepts kvclient here, so the real connect() refuses.
    with pytest.raises(ConnectionRefusedError):
        record_visit("home")
