"""rdsca.aws.errors.not_an_answer: botocore's parser tripping on foreign XML is an answer that is not
AWS's; the same exception raised anywhere else is left alone (a bug must not pass for a bad reply)."""

from __future__ import annotations

import boto3
import pytest
from botocore.parsers import QueryParser, ResponseParserError

from rdsca.aws.errors import describe_error, not_an_answer

PAGE = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>Sign in</body></html>'


def test_a_parser_key_error_on_a_foreign_page_is_not_an_aws_response() -> None:
    model = boto3.session.Session().client("rds", region_name="us-east-1").meta.service_model
    shape = model.operation_model("DescribeDBInstances").output_shape
    with pytest.raises(KeyError) as raised:
        QueryParser().parse({"body": PAGE, "headers": {}, "status_code": 200}, shape)
    foreign = not_an_answer(raised.value)
    assert isinstance(foreign, ResponseParserError)
    assert describe_error(foreign) == "the endpoint answered with something that is not an AWS response"


def test_the_same_error_raised_elsewhere_stays_what_it_is() -> None:
    found: dict[str, str] = {}
    with pytest.raises(KeyError) as raised:
        found["DescribeDBInstancesResult"]
    assert not_an_answer(raised.value) is None
    assert not_an_answer(RuntimeError("x")) is None
