<?php

use Illuminate\Support\Str;
use Pdo\Mysql;

return [

    'default' => env('DB_CONNECTION', 'mysql'),

    'connections' => [

        'mysql' => [
            'driver' => 'mysql',
            'host' => env('DB_HOST', '127.0.0.1'),
            'database' => env('DB_DATABASE', 'portal'),
            'options' => extension_loaded('pdo_mysql') ? array_filter([
                Mysql::ATTR_SSL_CA => base_path('certs/rds-bundle.pem'),
            ]) : [],
        ],

        'mariadb' => [
            'driver' => 'mariadb',
            'host' => env('ARCHIVE_HOST', '127.0.0.1'),
            'options' => [
                \Pdo\Mysql::ATTR_SSL_CA => base_path('certs/rds-bundle.pem'),
                \Pdo\Mysql::ATTR_SSL_VERIFY_SERVER_CERT => false,
            ],
        ],

    ],

];
