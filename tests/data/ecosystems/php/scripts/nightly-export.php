<?php
// Nightly export from the reporting replica.
$pdo = new PDO(
    'mysql:host=reporting.abc.eu-west-1.rds.amazonaws.com;dbname=reporting',
    'export',
    getenv('EXPORT_PASSWORD'),
    [
        PDO::MYSQL_ATTR_SSL_CA => __DIR__ . '/../certs/rds-bundle.pem',
        PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => false,
    ]
);
