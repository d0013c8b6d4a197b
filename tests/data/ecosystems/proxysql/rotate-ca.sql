-- run on the admin interface (port 6032) after copying the new bundle
SET mysql-ssl_p2s_ca='/etc/proxysql/rds-bundle-2025.pem';
LOAD MYSQL VARIABLES TO RUNTIME;
SAVE MYSQL VARIABLES TO DISK;
