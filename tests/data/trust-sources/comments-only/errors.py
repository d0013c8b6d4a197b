"""Messages shown to operators."""

STALE_BUNDLE = (
    "this image was built with https://s3.amazonaws.com/rds-downloads/rds-combined-ca-bundle.pem; "
    "rebuild it"
)
