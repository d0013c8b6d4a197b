package db

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

const ledgerDSN = "host=ledger.abc.eu-west-1.rds.amazonaws.com port=5432 dbname=ledger user=ledger sslmode=verify-full sslrootcert=/etc/orders/certs/rds-bundle.pem"

func Ledger(ctx context.Context) (*pgxpool.Pool, error) {
	return pgxpool.New(ctx, ledgerDSN)
}
