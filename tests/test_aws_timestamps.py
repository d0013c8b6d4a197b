"""rdsca's timestamp parser for botocore answers reads every form to the instant botocore's own does."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp

from rdsca.aws.session import _timestamp


@pytest.mark.parametrize(
    "value",
    [
        "2024-08-22T17:08:50Z",
        "2024-08-22T17:08:50.123Z",
        "2024-08-22T17:08:50.1234567Z",
        "2061-12-31T23:59:59.5Z",
        "2024-08-22T17:08:50+02:00",  # an offset: botocore's parser
        "2024-08-22T17:08:50",  # no zone: botocore's parser
        "Thu, 22 Aug 2024 17:08:50 GMT",  # RFC 822: botocore's parser
        "1724346530",  # epoch seconds as text: botocore's parser
        1724346530,
        1724346530.25,
    ],
)
def test_same_instant_as_botocore(value: object) -> None:
    ours, theirs = _timestamp(value), parse_timestamp(value)
    assert ours == theirs
    assert (ours.tzinfo is None) == (theirs.tzinfo is None)


def test_not_a_timestamp_is_refused_as_botocore_does() -> None:
    with pytest.raises(ValueError):
        _timestamp("2024-13-45T99:99:99Z")
