#!/bin/sh
mysql --host=warehouse.example --ssl-mode=PREFERRED -e 'select 1'
mysql --host=scratch.example --ssl-mode=DISABLED -e 'select 1'
