package db

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"os"

	"github.com/go-sql-driver/mysql"
)

// Open connects to the orders database over TLS, trusting only the RDS bundle.
func Open(user, pass, host string) (*sql.DB, error) {
	pem, err := os.ReadFile("/etc/orders/certs/rds-bundle.pem")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificates in bundle")
	}
	if err := mysql.RegisterTLSConfig("rds", &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		return nil, err
	}
	dsn := fmt.Sprintf("%s:%s@tcp(%s:3306)/orders?tls=rds&parseTime=true", user, pass, host)
	return sql.Open("mysql", dsn)
}

// OpenReplica reads from the replica; it still verifies against the system roots.
func OpenReplica(user, pass, host string) (*sql.DB, error) {
	return sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s:3306)/orders?tls=true", user, pass, host))
}

// OpenLocal is for the docker-compose database.
func OpenLocal() (*sql.DB, error) {
	return sql.Open("mysql", "root:root@tcp(localhost:3306)/orders?tls=skip-verify")
}
